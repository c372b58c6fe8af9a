/**
 * Plain HTTP/1.1 keep-alive proxying of a 13-byte body, reproducing the anchors doc (§3.2,
 * §3.3): an nginx upstream (1 worker, `return 200 "Hello, World!"`) shares the load core with
 * wrk; each proxy runs alone on the proxy core; every proxy applies the same route (host
 * bench.example.com, PathPrefix /api, header x-bench: 1) with keep-alive to the upstream and
 * no access log (Sluice's access log goes to /dev/null: `sluice run` has no switch for it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Managed } from '../lib/procs.ts';
import { httpGet, waitUntil } from '../lib/http-check.ts';
import { runWrk } from '../lib/wrk.ts';
import { haproxyConfig, nginxProxyConfig, nginxUpstreamConfig, sluiceConfig } from './http-configs.ts';
import type { Measurement, Scenario, ScenarioContext, Target } from './types.ts';

export const ROUTE = { host: 'bench.example.com', prefix: '/api', header: ['x-bench', '1'] as const };
export const REQUEST_PATH = '/api/users?id=7';
export const UPSTREAM_BODY = 'Hello, World!';

interface Ports {
  upstream: number;
  sluice: number;
  nginx: number;
  haproxy: number;
  nodeHttpProxy: number;
  undiciDispatch: number;
  nodeHello: number;
  sluiceAdmin: number;
}

function ports(base: number): Ports {
  return { upstream: base, sluice: base + 1, nginx: base + 2, haproxy: base + 3, nodeHttpProxy: base + 4, undiciDispatch: base + 5, nodeHello: base + 6, sluiceAdmin: base + 9 };
}

const routedHeaders: Record<string, string> = { host: ROUTE.host, [ROUTE.header[0]]: ROUTE.header[1] };

/** The routed request must reach the upstream; (for proxies) one without the header must not. */
async function checkRouting(name: string, port: number, proc: Managed | undefined): Promise<void> {
  await waitUntil(`${name} on :${port}`, 20_000, async () => {
    if (proc !== undefined) assertAlive(proc);
    const r = await httpGet(port, REQUEST_PATH, routedHeaders);
    if (r.status === 200 && r.body === UPSTREAM_BODY) return true;
    throw new Error(`routed request got ${r.status} ${JSON.stringify(r.body.slice(0, 80))}`);
  });
  if (proc === undefined) return;
  const miss = await httpGet(port, REQUEST_PATH, { host: ROUTE.host });
  if (miss.status !== 404) throw new Error(`${name}: a request without ${ROUTE.header[0]} got ${miss.status}, want 404`);
  const wrongHost = await httpGet(port, REQUEST_PATH, { ...routedHeaders, host: 'other.example.com' });
  if (wrongHost.status !== 404) throw new Error(`${name}: a request for another host got ${wrongHost.status}, want 404`);
  const notPrefix = await httpGet(port, '/apix', routedHeaders);
  if (notPrefix.status !== 404) throw new Error(`${name}: /apix got ${notPrefix.status}, want 404 (PathPrefix is per path element)`);
}

function assertAlive(proc: Managed): void {
  if (proc.child.exitCode === null && proc.child.signalCode === null) return;
  let tail = '';
  try {
    tail = readFileSync(proc.logFile, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    // no log
  }
  throw new Error(`${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}): ${tail}`);
}

const targetPorts = new Map<string, number>();

/** One extra Sluice target: its own name, optional other checkout (`root`, with bin/ and dist/), env and `sluice run` flags. */
interface SluiceVariant {
  readonly name: string;
  readonly root?: string;
  readonly env?: Record<string, string>;
  readonly args?: readonly string[];
}

/** BENCH_SLUICE_VARIANTS: a JSON array of SluiceVariant, e.g. `[{"name":"sluice-undici","env":{"SLUICE_UPSTREAM_CLIENT":"undici"}}]`. */
function sluiceVariants(): SluiceVariant[] {
  const raw = process.env.BENCH_SLUICE_VARIANTS;
  if (raw === undefined || raw.trim() === '') return [];
  const list = JSON.parse(raw) as SluiceVariant[];
  if (!Array.isArray(list) || list.length > 10) throw new Error('BENCH_SLUICE_VARIANTS: a JSON array of at most 10 {name, root?, env?, args?}');
  for (const v of list) if (typeof v.name !== 'string' || !/^sluice-[a-z0-9-]+$/.test(v.name)) throw new Error(`BENCH_SLUICE_VARIANTS: name ${JSON.stringify(v.name)} must look like sluice-<word>`);
  return list;
}

function wrkCommon(ctx: ScenarioContext, target: Target) {
  const port = targetPorts.get(target.name);
  if (port === undefined) throw new Error(`unknown target ${target.name}`);
  const c = ctx.config;
  return {
    url: `http://127.0.0.1:${port}${REQUEST_PATH}`,
    headers: [
      ['Host', ROUTE.host],
      [ROUTE.header[0], ROUTE.header[1]],
    ] as const,
    connections: c.connections,
    threads: c.threads,
    cpus: c.loadCpus,
    runDir: ctx.runDir,
  };
}

export const httpScenario: Scenario = {
  name: 'http',
  title: 'HTTP/1.1 keep-alive proxy, 13-byte body, route on host + path prefix + one header',
  debianPackages: { nginx: 'nginx', haproxy: 'haproxy', wrk: 'wrk', taskset: 'util-linux' },
  primary: 'rps',
  columns: [
    { key: 'rps', header: 'req/s', digits: 0 },
    { key: 'p50Ms', header: 'p50 ms', digits: 2 },
    { key: 'p99Ms', header: 'p99 ms', digits: 2 },
  ],
  reference: 'nginx',
  ratios: [
    { label: 'Sluice / nginx', numerator: 'sluice', denominator: 'nginx', goal: 0.5 },
    { label: 'Sluice / node-http-proxy', numerator: 'sluice', denominator: 'node-http-proxy', goal: 1.8 },
    { label: 'Sluice / undici-dispatch (bare Node proxy, same round)', numerator: 'sluice', denominator: 'undici-dispatch' },
    { label: 'undici-dispatch / nginx (anchors doc: 0.36–0.39)', numerator: 'undici-dispatch', denominator: 'nginx' },
    { label: 'node-hello / nginx (anchors doc: 1.07)', numerator: 'node-hello', denominator: 'nginx' },
  ],

  describe(ctx) {
    const c = ctx.config;
    const pin =
      c.proxyCpus === undefined
        ? 'no pinning (fewer than 2 CPUs)'
        : `proxy under test on CPU ${c.proxyCpus}; wrk and the upstream on CPU ${c.loadCpus}`;
    return [
      `Upstream: nginx, 1 worker, \`return 200 "${UPSTREAM_BODY}"\`, keepalive_requests 1000000 (as in the anchors doc).`,
      `Request: \`GET ${REQUEST_PATH}\` with \`Host: ${ROUTE.host}\` and \`${ROUTE.header[0]}: ${ROUTE.header[1]}\`; every proxy routes on host + PathPrefix ${ROUTE.prefix} + that header and answers 404 otherwise (checked before measuring).`,
      `Proxies: Sluice (\`bin/sluice run --config\`, HTTPRoute -> Service + EndpointSlice on 127.0.0.1, access log to /dev/null); nginx 1 worker, upstream keepalive 64; HAProxy nbthread 1, mode http, http-keep-alive, http-reuse always; node-http-proxy with http.Agent({keepAlive, maxSockets: 128}); undici-dispatch = node:http + undici Pool({connections: 128}).dispatch writing straight into the response (the anchors doc's best plain Node design, no gateway features); node-hello = node:http answering the 13 bytes itself (calibration, no upstream hop); direct = the upstream itself. No access logs in nginx/HAProxy.`,
      `Load: wrk -t${c.threads} -c${c.connections}, ${c.warmupS}s warm-up then ${c.durationS}s measured, ${c.rounds} round(s), order rotating per round; ${pin}. All proxies stay up (idle) while another is measured.`,
    ].join('\n');
  },

  async setup(ctx) {
    const p = ports(ctx.config.portBase);
    const dir = ctx.runDir;
    writeFileSync(`${dir}/nginx-upstream.conf`, nginxUpstreamConfig(dir, p.upstream, UPSTREAM_BODY));
    writeFileSync(`${dir}/nginx-proxy.conf`, nginxProxyConfig(dir, p.nginx, p.upstream, ROUTE));
    writeFileSync(`${dir}/haproxy.cfg`, haproxyConfig(p.haproxy, p.upstream, ROUTE));
    writeFileSync(`${dir}/sluice.yaml`, sluiceConfig(p.sluice, p.upstream, ROUTE));

    ctx.log(`upstream: nginx on 127.0.0.1:${p.upstream}`);
    const upstream = ctx.procs.start({
      name: 'upstream-nginx',
      command: 'nginx',
      args: ['-p', `${dir}/`, '-c', `${dir}/nginx-upstream.conf`, '-e', `${dir}/nginx-upstream.err`],
      cpus: ctx.config.loadCpus,
    });
    await waitUntil(`upstream on :${p.upstream}`, 20_000, async () => {
      assertAlive(upstream);
      const r = await httpGet(p.upstream, REQUEST_PATH, routedHeaders);
      return r.status === 200 && r.body === UPSTREAM_BODY;
    });

    const sluiceTarget = (v: SluiceVariant, port: number, adminPort: number, config: string): Target => ({
      name: v.name,
      description: `${v.root ?? ''}bin/sluice run --config ${config}${v.args?.length ? ` ${v.args.join(' ')}` : ''}${v.env ? ` (env ${JSON.stringify(v.env)})` : ''}`,
      async start(c) {
        const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_LOG_LEVEL ?? 'warn', ...v.env };
        if (c.config.sluiceNodeOptions !== '') env.NODE_OPTIONS = c.config.sluiceNodeOptions;
        const proc = c.procs.start({
          name: v.name,
          command: `${v.root ?? c.root}/bin/sluice`,
          args: ['run', '--config', config, '--admin', `127.0.0.1:${adminPort}`, '--drain-timeout', '1', ...(v.args ?? [])],
          cpus: c.config.proxyCpus,
          env,
          cwd: dir,
        });
        await waitUntil(`${v.name} /readyz`, 30_000, async () => {
          assertAlive(proc);
          return (await httpGet(adminPort, '/readyz', {})).status === 200;
        });
        await checkRouting(v.name, port, proc);
        return proc;
      },
    });
    const sluice = sluiceTarget({ name: 'sluice' }, p.sluice, p.sluiceAdmin, `${dir}/sluice.yaml`);
    // Extra Sluice builds/settings measured side by side (A/B of an optimisation): BENCH_SLUICE_VARIANTS.
    const variants = sluiceVariants().map((v, i) => {
      const vPort = ctx.config.portBase + 10 + i;
      const vConfig = `${dir}/sluice-${v.name}.yaml`;
      writeFileSync(vConfig, sluiceConfig(vPort, p.upstream, ROUTE));
      targetPorts.set(v.name, vPort);
      return sluiceTarget(v, vPort, ctx.config.portBase + 30 + i, vConfig);
    });
    const nginx: Target = {
      name: 'nginx',
      description: `nginx -c ${dir}/nginx-proxy.conf`,
      async start(c) {
        const proc = c.procs.start({
          name: 'nginx',
          command: 'nginx',
          args: ['-p', `${dir}/`, '-c', `${dir}/nginx-proxy.conf`, '-e', `${dir}/nginx-proxy.err`],
          cpus: c.config.proxyCpus,
        });
        await checkRouting('nginx', p.nginx, proc);
        return proc;
      },
    };
    const haproxy: Target = {
      name: 'haproxy',
      description: `haproxy -db -f ${dir}/haproxy.cfg`,
      async start(c) {
        const proc = c.procs.start({
          name: 'haproxy',
          command: 'haproxy',
          args: ['-db', '-f', `${dir}/haproxy.cfg`],
          cpus: c.config.proxyCpus,
        });
        await checkRouting('haproxy', p.haproxy, proc);
        return proc;
      },
    };
    const nodeBaseline = (name: string, script: string, port: number, description: string): Target => ({
      name,
      description,
      async start(c) {
        const proc = c.procs.start({
          name,
          command: c.nodeBin,
          args: [
            `${c.root}/benchmarks/proxies/${script}`,
            '--listen',
            `127.0.0.1:${port}`,
            '--upstream',
            `127.0.0.1:${p.upstream}`,
            '--host',
            ROUTE.host,
            '--prefix',
            ROUTE.prefix,
            '--header',
            `${ROUTE.header[0]}=${ROUTE.header[1]}`,
            '--run-dir',
            dir,
          ],
          cpus: c.config.proxyCpus,
        });
        await checkRouting(name, port, proc);
        return proc;
      },
    });
    const nodeHttpProxy = nodeBaseline(
      'node-http-proxy',
      'node-http-proxy.ts',
      p.nodeHttpProxy,
      'benchmarks/proxies/node-http-proxy.ts (http-proxy + keep-alive agent)',
    );
    const undiciDispatch = nodeBaseline(
      'undici-dispatch',
      'undici-dispatch.ts',
      p.undiciDispatch,
      'benchmarks/proxies/undici-dispatch.ts (node:http + undici Pool.dispatch, no gateway features)',
    );
    const nodeHello = nodeBaseline(
      'node-hello',
      'node-hello.ts',
      p.nodeHello,
      'benchmarks/proxies/node-hello.ts (calibration: node:http answering itself, no upstream hop)',
    );
    const direct: Target = {
      name: 'direct',
      description: 'the upstream itself (shares the load core with wrk)',
      async start() {
        return undefined;
      },
    };
    targetPorts.set('sluice', p.sluice);
    targetPorts.set('nginx', p.nginx);
    targetPorts.set('haproxy', p.haproxy);
    targetPorts.set('node-http-proxy', p.nodeHttpProxy);
    targetPorts.set('undici-dispatch', p.undiciDispatch);
    targetPorts.set('node-hello', p.nodeHello);
    targetPorts.set('direct', p.upstream);
    return [sluice, ...variants, nginx, haproxy, nodeHttpProxy, undiciDispatch, nodeHello, direct];
  },

  async warmup(ctx, target, label) {
    if (ctx.config.warmupS <= 0) return;
    await runWrk(ctx.procs, {
      ...wrkCommon(ctx, target),
      durationS: ctx.config.warmupS,
      outFile: `${ctx.runDir}/wrk-${label}-warmup.txt`,
      label: `${label}-warmup`,
    });
  },

  async measure(ctx, target, label): Promise<Measurement> {
    const rawFile = `${ctx.runDir}/wrk-${label}.txt`;
    const r = await runWrk(ctx.procs, { ...wrkCommon(ctx, target), durationS: ctx.config.durationS, outFile: rawFile, label });
    const problems: string[] = [];
    if (r.requests === 0) problems.push('no requests completed');
    if (r.non2xx > 0) problems.push(`${r.non2xx} non-2xx/3xx responses`);
    const se = r.socketErrors;
    if (se.connect + se.read + se.write > 0) {
      problems.push(`socket errors: connect ${se.connect}, read ${se.read}, write ${se.write}`);
    }
    // wrk counts a request slower than 2 s as a timeout: a stall (host noise), not a wrong answer.
    const warnings = se.timeout > 0 ? [`${se.timeout} requests slower than 2 s (wrk timeouts)`] : [];
    return {
      metrics: { rps: r.rps, p50Ms: r.p50Ms, p90Ms: r.p90Ms, p99Ms: r.p99Ms, p999Ms: r.p999Ms, maxMs: r.maxMs, requests: r.requests, timeouts: r.socketErrors.timeout },
      command: r.command,
      rawFile,
      problems,
      warnings,
    };
  },
};
