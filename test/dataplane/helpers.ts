/**
 * Test helpers for the data plane: echo backends that report what they saw,
 * hand-built RouteTables, and a tiny HTTP client that can set any Host.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type {
  ClusterIR, EndpointIR, HttpActionIR, HttpFilterIR, HttpMatchIR, HttpRouteIR, ListenerIR, ListenerTLSIR, PortIR, RouteTable,
  VirtualHostIR, WeightedBackendIR,
} from '../../src/translate/ir.js';
import { DataPlane } from '../../src/dataplane/index.js';
import type { AccessLogEntry } from '../../src/dataplane/index.js';
import { silentLogger } from '../../src/util/log.js';

export interface EchoSeen {
  name: string;
  path: string;
  host: string;
  method: string;
  headers: Record<string, string[]>;
  body: string;
  httpPort: number;
}

export interface Echo {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly endpoint: EndpointIR;
  /** Requests this backend received, in order. */
  readonly seen: EchoSeen[];
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/**
 * A plain node:http backend that answers JSON describing the request.
 * `/status/NNN` answers NNN; `?delay=MS` waits first; `X-Echo-Set-Header: a:b,c:d` sets response headers.
 */
export async function startEcho(name: string, address = '127.0.0.1'): Promise<Echo> {
  const seen: EchoSeen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string[]> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i].toLowerCase();
        (headers[k] ??= []).push(req.rawHeaders[i + 1]);
      }
      const entry: EchoSeen = {
        name, path: req.url ?? '', host: req.headers.host ?? '', method: req.method ?? '', headers,
        body: Buffer.concat(chunks).toString(), httpPort: port,
      };
      seen.push(entry);
      const url = new URL(req.url ?? '/', 'http://x');
      const delay = Number(url.searchParams.get('delay') ?? 0);
      const statusMatch = /^\/status\/(\d{3})$/.exec(url.pathname);
      const respond = (): void => {
        if (res.destroyed) return;
        const extra: Record<string, string> = {};
        const set = req.headers['x-echo-set-header'];
        if (typeof set === 'string') {
          for (const pair of set.split(',')) {
            const i = pair.indexOf(':');
            if (i > 0) extra[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
          }
        }
        res.writeHead(statusMatch ? Number(statusMatch[1]) : 200, { 'content-type': 'application/json', ...extra });
        res.end(JSON.stringify(entry));
      };
      if (delay > 0) setTimeout(respond, delay);
      else respond();
    });
  });
  server.on('upgrade', (req, socket) => {
    // Minimal echo "protocol": answer 101, then echo bytes back upper-cased.
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${String(req.headers.upgrade)}\r\nconnection: Upgrade\r\nx-echo-name: ${name}\r\nx-echo-path: ${req.url}\r\n\r\n`);
    socket.on('data', (d: Buffer) => socket.write(d.toString().toUpperCase()));
    socket.on('error', () => socket.destroy());
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    name, address, port, endpoint: { address, port }, seen, connections: () => connections,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A port nobody listens on (bound then released). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, address, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---- RouteTable builders ----

let versionCounter = 0;

export function table(ports: PortIR[], clusters: ClusterIR[] = []): RouteTable {
  return { version: `test-${++versionCounter}`, ports, clusters: Object.fromEntries(clusters.map((c) => [c.id, c])) };
}

export function port(portNumber: number, listeners: ListenerIR[], opts: { address?: string; protocol?: 'HTTP' | 'HTTPS' } = {}): PortIR {
  return { address: opts.address ?? '127.0.0.1', port: portNumber, protocol: opts.protocol ?? 'HTTP', listeners };
}

export function listener(name: string, virtualHosts: VirtualHostIR[], opts: { hostname?: string; tls?: ListenerTLSIR; protocol?: 'HTTP' | 'HTTPS'; gateway?: string } = {}): ListenerIR {
  const gateway = opts.gateway ?? 'gw';
  return {
    id: `default/${gateway}/${name}`,
    gateway: { namespace: 'default', name: gateway },
    name,
    protocol: opts.protocol ?? (opts.tls ? 'HTTPS' : 'HTTP'),
    ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
    ...(opts.tls ? { tls: opts.tls } : {}),
    virtualHosts,
    l4Routes: [],
  };
}

export function vhost(hostname: string, routes: HttpRouteIR[]): VirtualHostIR {
  return { hostname, routes };
}

export function route(
  name: string,
  match: Partial<HttpMatchIR> = {},
  action: Partial<HttpActionIR> = {},
  ruleIndex = 0,
): HttpRouteIR {
  return {
    ref: { kind: 'HTTPRoute', namespace: 'default', name, ruleIndex, matchIndex: 0 },
    match: { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], ...match },
    action: { filters: [], backends: [], ...action },
  };
}

export function backend(cluster: string, weight = 1, filters: HttpFilterIR[] = []): WeightedBackendIR {
  return { cluster, weight, filters };
}

export function cluster(id: string, endpoints: EndpointIR[], protocol: ClusterIR['protocol'] = 'http1'): ClusterIR {
  return { id, protocol, endpoints };
}

// ---- client ----

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  json(): EchoSeen;
}

export interface RequestOptions {
  host?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  address?: string;
  agent?: http.Agent | false;
  tls?: { servername?: string; ca?: string };
}

/** One request with full control over Host (fetch cannot set it). */
export function request(portNumber: number, path: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...(opts.headers ?? {}) };
    if (opts.host !== undefined) headers.host = opts.host;
    const base = {
      host: opts.address ?? '127.0.0.1',
      port: portNumber,
      path,
      method: opts.method ?? 'GET',
      headers,
      agent: opts.agent ?? false,
    };
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body, json: () => JSON.parse(body) as EchoSeen });
      });
      res.on('error', reject);
    };
    const req = opts.tls
      ? https.request({ ...base, servername: opts.tls.servername, ca: opts.tls.ca, rejectUnauthorized: opts.tls.ca !== undefined }, onResponse)
      : http.request(base, onResponse);
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}

/** A DataPlane that collects its access log in memory. */
export function testDataPlane(extra: Partial<ConstructorParameters<typeof DataPlane>[0]> = {}): { dp: DataPlane; log: AccessLogEntry[] } {
  const log: AccessLogEntry[] = [];
  const dp = new DataPlane({ logger: silentLogger(), accessLog: (e) => log.push(e), poolGraceMs: 200, portGraceMs: 2_000, ...extra });
  return { dp, log };
}

/** Wait until `cond` holds (bounded). */
export async function eventually(cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
