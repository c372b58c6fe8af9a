/**
 * Helpers for the L4 data-plane tests: hand-built RouteTables with TLS/TCP/UDP
 * ports, real TCP/TLS/UDP backends on loopback, and small clients.
 */
import { createHash } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { ClusterIR, EndpointIR, L4RouteIR, ListenerIR, ListenerProtocol, PortIR, RouteTable, WeightedBackendIR } from '../../../src/translate/ir.js';
import { DataPlane, type AccessLogEntry, type DataPlaneOptions } from '../../../src/dataplane/index.js';
import { createDevCA, type CertKeyPair, type DevCA } from '../../../src/util/devcert.js';
import { silentLogger } from '../../../src/util/log.js';

let ca: DevCA | undefined;
/** One CA per test process (RSA key generation is slow). */
export function testCA(): DevCA {
  ca ??= createDevCA('Sluice L4 test CA');
  return ca;
}

// ---- tables ----

let version = 0;

export function table(ports: PortIR[], clusters: ClusterIR[] = []): RouteTable {
  return { version: `l4-${++version}`, ports, clusters: Object.fromEntries(clusters.map((c) => [c.id, c])) };
}

export function port(portNumber: number, protocol: ListenerProtocol, listeners: ListenerIR[], address = '127.0.0.1'): PortIR {
  return { address, port: portNumber, protocol, listeners };
}

export interface ListenerOpts {
  hostname?: string;
  tlsMode?: 'Terminate' | 'Passthrough';
  cert?: CertKeyPair;
  routes?: L4RouteIR[];
}

export function listener(name: string, protocol: ListenerProtocol, opts: ListenerOpts = {}): ListenerIR {
  return {
    id: `default/gw/${name}`,
    gateway: { namespace: 'default', name: 'gw' },
    name,
    protocol,
    ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
    ...(opts.cert ? { tls: { certificates: [{ secret: `default/${name}-cert`, certPem: opts.cert.certPem, keyPem: opts.cert.keyPem }] } } : {}),
    ...(opts.tlsMode ? { tlsMode: opts.tlsMode } : {}),
    virtualHosts: [],
    l4Routes: opts.routes ?? [],
  };
}

export function l4route(name: string, backends: WeightedBackendIR[], hostnames: string[] = [], kind: 'TLSRoute' | 'TCPRoute' | 'UDPRoute' = 'TCPRoute'): L4RouteIR {
  return { ref: { kind, namespace: 'default', name, ruleIndex: 0, matchIndex: -1 }, hostnames, backends };
}

export function backend(cluster: string, weight = 1): WeightedBackendIR {
  return { cluster, weight, filters: [] };
}

export function invalidBackend(reason: string, weight = 1): WeightedBackendIR {
  return { invalid: reason, weight, filters: [] };
}

export function cluster(id: string, endpoints: EndpointIR[], protocol: 'tcp' | 'udp' = 'tcp'): ClusterIR {
  return { id, protocol, endpoints };
}

// ---- data plane ----

export interface TestPlane {
  readonly dp: DataPlane;
  readonly log: AccessLogEntry[];
  /** The bound port of an L4 port key ("127.0.0.1|PORT" or "...|udp"). */
  bound(key: string): number;
}

export function newPlane(opts: Partial<DataPlaneOptions> = {}): TestPlane {
  const log: AccessLogEntry[] = [];
  const dp = new DataPlane({ logger: silentLogger(), accessLog: (e) => log.push(e), portGraceMs: 200, ...opts });
  return {
    dp,
    log,
    bound: (key) => {
      const p = dp.boundPorts.get(key);
      if (p === undefined) throw new Error(`port ${key} not bound`);
      return p;
    },
  };
}

/** A port nobody listens on (TCP and UDP both free at the time). */
export async function freePort(address = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const s = net.createServer();
    await new Promise<void>((resolve) => s.listen(0, address, resolve));
    const p = (s.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    const u = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      u.once('error', () => resolve(false));
      u.bind(p, address, () => resolve(true));
    });
    await new Promise<void>((resolve) => u.close(() => resolve()));
    if (ok) return p;
  }
  throw new Error('no free port');
}

/** Wait until `check` holds (polling), or fail after timeoutMs. */
export async function until(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- backends ----

export interface Backend {
  readonly name: string;
  readonly endpoint: EndpointIR;
  /** Connections accepted so far. */
  connections(): number;
  /** Server-side sockets, in accept order. */
  readonly sockets: net.Socket[];
  close(): Promise<void>;
}

/**
 * TCP backend. Default behaviour: write "<name>\n", then echo every byte.
 * `onConnection` replaces it.
 */
export async function tcpBackend(name: string, onConnection?: (s: net.Socket) => void): Promise<Backend> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    if (onConnection) onConnection(s);
    else {
      s.write(`${name}\n`);
      s.pipe(s);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const p = (server.address() as net.AddressInfo).port;
  return {
    name,
    endpoint: { address: '127.0.0.1', port: p },
    connections: () => sockets.length,
    sockets,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** TLS backend (terminates TLS itself, for passthrough): greets with "<name> sni=<servername>\n", then echoes. */
export async function tlsBackend(name: string, pair: CertKeyPair): Promise<Backend> {
  const sockets: net.Socket[] = [];
  const server = tls.createServer({ cert: pair.certPem, key: pair.keyPem, allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.write(`${name} sni=${s.servername || '-'}\n`);
    s.pipe(s);
  });
  server.on('connection', (s: net.Socket) => sockets.push(s));
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const p = (server.address() as net.AddressInfo).port;
  return {
    name,
    endpoint: { address: '127.0.0.1', port: p },
    connections: () => sockets.length,
    sockets,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export interface UdpBackend {
  readonly name: string;
  readonly endpoint: EndpointIR;
  /** Source ports of the datagrams received (one per gateway flow). */
  readonly peers: Set<number>;
  received(): number;
  close(): Promise<void>;
}

/** UDP echo: answers "<name>:<payload>" to the sender. */
export async function udpBackend(name: string): Promise<UdpBackend> {
  const socket = createSocket('udp4');
  const peers = new Set<number>();
  let received = 0;
  socket.on('message', (msg, rinfo) => {
    received++;
    peers.add(rinfo.port);
    socket.send(`${name}:${msg.toString()}`, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    name,
    endpoint: { address: '127.0.0.1', port: socket.address().port },
    peers,
    received: () => received,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

// ---- clients ----

/** Connect, read the first line (the backend's greeting). */
export function firstLine(s: net.Socket | tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl !== -1) {
        s.off('data', onData);
        resolve(buf.slice(0, nl));
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.once('close', () => reject(new Error(`closed before a line (got ${JSON.stringify(buf)})`)));
  });
}

export function connectTcp(portNumber: number, address = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: address, port: portNumber, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

export function connectTls(portNumber: number, servername: string | undefined, caPem: string, extra: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: portNumber, ...(servername ? { servername } : {}), ca: caPem, allowHalfOpen: true, ...extra }, () => resolve(s));
    s.once('error', reject);
  });
}

/** How a connection attempt ended: 'reset', 'closed' (EOF) or an error code, with the bytes received. */
export function outcome(s: net.Socket | tls.TLSSocket): Promise<{ how: string; data: string }> {
  return new Promise((resolve) => {
    let data = '';
    s.on('data', (d: Buffer) => {
      data += d.toString();
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ how: e.code === 'ECONNRESET' ? 'reset' : e.code ?? e.message, data }));
    s.once('close', () => resolve({ how: 'closed', data }));
  });
}

/** Read until EOF; resolves with every byte. */
export function readAll(s: net.Socket | tls.TLSSocket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface UdpClient {
  readonly socket: UdpSocket;
  ask(message: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function udpClient(portNumber: number): Promise<UdpClient> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    ask: (message, timeoutMs = 2000) => new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.off('message', onMessage);
        reject(new Error('no UDP reply'));
      }, timeoutMs);
      const onMessage = (m: Buffer): void => {
        clearTimeout(timer);
        socket.off('message', onMessage);
        resolve(m.toString());
      };
      socket.on('message', onMessage);
      socket.send(message, portNumber, '127.0.0.1');
    }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
