// Shared pieces of the integration tests: they run the real `bin/sluice`
// process against real echo backends on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { request as undiciRequest, Agent } from 'undici';
import { freePort } from '../fixtures/ports.js';

export { freePort };

export const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice', import.meta.url));

export function tempDir(prefix = 'sluice-it-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface SluiceProcess {
  readonly admin: string;
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Start `sluice run` and wait until /readyz answers 200 (or `waitReady: false`: until it answers at all). */
export async function startSluice(
  configPath: string,
  options: { waitReady?: boolean; timeoutMs?: number; extraArgs?: string[] } = {},
): Promise<SluiceProcess> {
  const adminPort = await freePort();
  const admin = `http://127.0.0.1:${adminPort}`;
  const child = spawn(SLUICE_BIN, ['run', '--config', configPath, '--admin', `127.0.0.1:${adminPort}`, '--drain-timeout', '5', ...(options.extraArgs ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'info' },
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: SluiceProcess = {
    admin,
    child,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sluice exited with ${child.exitCode}:\n${err}`);
    try {
      const res = await undiciRequest(`${admin}/readyz`);
      await res.body.text();
      if (res.statusCode === 200 || options.waitReady === false) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.stop('SIGKILL');
      throw new Error(`sluice did not become ready in time:\n${err}`);
    }
    await sleep(50);
  }
}

/**
 * Write `yaml` to a fresh temporary directory and serve it with `sluice run`.
 * When `t` ends, sluice is stopped and the directory removed. tap runs
 * teardowns last-registered first, so register backend teardowns before this
 * call for sluice to stop before its backends.
 */
export async function serveConfig(
  t: Test,
  yaml: string,
  options: Parameters<typeof startSluice>[1] = {},
): Promise<{ sluice: SluiceProcess; config: string }> {
  const tmp = tempDir();
  const config = join(tmp.dir, 'gateway.yaml');
  writeConfig(config, yaml);
  let sluice: SluiceProcess;
  try {
    sluice = await startSluice(config, options);
  } catch (err) {
    tmp.remove();
    throw err;
  }
  t.teardown(async () => {
    await sluice.stop();
    tmp.remove();
  });
  return { sluice, config };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait until `check` returns a truthy value, polling; throws after timeoutMs. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(50);
  }
}

export interface HttpResult {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  json<T = EchoBody>(): T;
}

export interface EchoBody {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  namespace: string;
  pod: string;
}

const agent = new Agent({ keepAliveTimeout: 1000, connections: 64 });

/** One HTTP(S) request through undici; `host` overrides the Host header. */
export async function httpGet(
  url: string,
  options: { host?: string; headers?: Record<string, string>; method?: string; body?: string; dispatcher?: Agent } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.host) headers.host = options.host;
  const res = await undiciRequest(url, {
    method: (options.method ?? 'GET') as 'GET',
    headers,
    body: options.body,
    dispatcher: options.dispatcher ?? agent,
  });
  const body = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body,
    json: <T>() => JSON.parse(body) as T,
  };
}

export function writeConfig(path: string, yaml: string): void {
  writeFileSync(path, yaml);
}

/** Service + EndpointSlice YAML for a backend listening on loopback. */
export function serviceYaml(name: string, namespace: string, address: string, port: number, servicePort = 80): string {
  return `---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  ports: [{ name: http, port: ${servicePort}, targetPort: ${port} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-1
  namespace: ${namespace}
  labels: { kubernetes.io/service-name: ${name} }
addressType: IPv4
ports: [{ name: http, port: ${port}, protocol: TCP }]
endpoints:
  - addresses: ["${address}"]
    conditions: { ready: true }
`;
}

// ---- YAML builders for the shapes most tests share ----

/** One Gateway listener; `certificateRef` makes it terminate TLS with that Secret. */
export interface ListenerYaml {
  name: string;
  protocol: 'HTTP' | 'HTTPS' | 'TLS' | 'TCP' | 'UDP';
  port: number;
  hostname?: string;
  certificateRef?: string;
}

function listenerLine(l: ListenerYaml): string {
  const fields = [`name: ${l.name}`, `protocol: ${l.protocol}`, `port: ${l.port}`];
  if (l.hostname !== undefined) fields.push(`hostname: ${JSON.stringify(l.hostname)}`);
  if (l.certificateRef !== undefined) fields.push(`tls: { mode: Terminate, certificateRefs: [{ name: ${l.certificateRef} }] }`);
  return `    - { ${fields.join(', ')} }`;
}

/**
 * A Gateway document (class sluice) on `address` with `listeners`.
 * `extraSpec` is raw YAML added under spec, indented by two spaces
 * (allowedListeners, tls, ...).
 */
export function gatewayYaml(
  name: string,
  listeners: ListenerYaml[],
  opts: { namespace?: string; address?: string; extraSpec?: string } = {},
): string {
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: ${opts.namespace ?? 'default'} }
spec:
  gatewayClassName: sluice
  addresses: [{ type: IPAddress, value: ${opts.address ?? '127.0.0.1'} }]
${opts.extraSpec ?? ''}  listeners:
${listeners.map(listenerLine).join('\n')}
`;
}

/** A parentRef: a Gateway name, or a ListenerSet. */
export type ParentYaml = string | { listenerSet: string };

/**
 * An HTTPRoute document with one rule and no matches: every request (of
 * `hostnames`, if given) goes to port 80 of the Service `backend`.
 */
export function httpRouteYaml(
  name: string,
  backend: string,
  opts: { parent?: ParentYaml; hostnames?: string[]; namespace?: string } = {},
): string {
  const parent = opts.parent ?? 'gw';
  const parentRef = typeof parent === 'string'
    ? `{ name: ${parent} }`
    : `{ group: gateway.networking.k8s.io, kind: ListenerSet, name: ${parent.listenerSet} }`;
  return `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: ${opts.namespace ?? 'default'} }
spec:
  parentRefs: [${parentRef}]
${opts.hostnames ? `  hostnames: [${opts.hostnames.join(', ')}]\n` : ''}  rules:
    - backendRefs: [{ name: ${backend}, port: 80 }]
`;
}
