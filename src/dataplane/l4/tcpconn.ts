import net, { type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { EndpointIR } from '../../translate/ir.js';
import type { Logger } from '../../util/log.js';
import { endpointLabel } from '../upstreams.js';
import type { L4Connector, RelayResult } from './connector.js';
import { ClientHelloError, readClientHello } from './hello.js';
import { newRecord, type CloseReason, type L4Observer, type L4Protocol } from './observe.js';
import { relayTerminated, resetRaw } from './tlsrelay.js';
import type { CompiledL4Port, L4Cluster, L4Listener, L4Route } from './types.js';

export interface TcpConnectionDeps {
  readonly logger: Logger;
  readonly observer: L4Observer;
  readonly connector: L4Connector;
  readonly helloTimeoutMs: number;
  readonly helloMaxBytes: number;
  readonly connectTimeoutMs: number;
  /** Close a userspace-relayed connection after this long without a byte either way (0: never). */
  readonly tcpIdleTimeoutMs: number;
  /** Hand a connection to the HTTPS server sharing the port (bytes already read were unshifted). */
  readonly https: ((socket: Socket) => void) | undefined;
  /** Sockets to destroy when the port shuts down (upstreams and TLS layers; the client is tracked by the caller). */
  readonly track: (socket: Socket) => void;
}

/** Most backend endpoints tried for one connection (only connection refusals and timeouts move on). */
const MAX_CONNECT_ATTEMPTS = 3;
const noop = (): void => undefined;

/**
 * One client connection on a TCP-based L4 port: read the ClientHello when
 * listeners are told apart by SNI, pick the listener, then either hand the
 * socket to the HTTPS server (shared port), or pick the route, a weighted
 * backend and an endpoint, connect, and relay (passthrough and TCP through
 * the connector, which may splice in the kernel; terminate through a
 * TLSSocket). Every outcome ends with one access log line.
 */
export async function handleTcpConnection(port: CompiledL4Port, client: Socket, deps: TcpConnectionDeps): Promise<void> {
  client.on('error', noop);
  const rec = newRecord(port.single?.mode === 'tcp' ? 'tcp' : 'tls-passthrough', port.single?.id ?? '');
  deps.observer.opened(rec.protocol);
  const end = (reason: CloseReason, error = ''): void => {
    rec.reason = reason;
    rec.error = error;
    deps.observer.ended(rec, true);
  };
  const reject = (reason: CloseReason, error = ''): void => {
    // An RST tells the client at once that nobody will serve it.
    if (!client.destroyed) client.resetAndDestroy();
    end(reason, error);
  };

  let listener = port.single;
  let sni: string | undefined;
  let consumed: Buffer = Buffer.alloc(0);
  if (port.needsHello) {
    try {
      const hello = await readClientHello(client, { timeoutMs: deps.helloTimeoutMs, maxBytes: deps.helloMaxBytes, peek: deps.connector.peeker() });
      sni = hello.sni;
      consumed = hello.consumed;
    } catch (err) {
      const code = err instanceof ClientHelloError ? (err.code as CloseReason) : 'not_tls';
      reject(code, err instanceof ClientHelloError ? '' : (err as Error).message);
      return;
    }
    rec.sni = sni ?? '';
    listener = port.listeners.lookup(sni ?? '');
  }
  if (listener === undefined) {
    reject('no_listener');
    return;
  }
  rec.listener = listener.id;
  if (listener.mode === 'https') {
    // HTTP requests get their own access log lines; this connection is no longer ours.
    deps.observer.forget(rec);
    if (deps.https === undefined) {
      if (!client.destroyed) client.resetAndDestroy();
      return;
    }
    if (consumed.length > 0) client.unshift(consumed);
    client.off('error', noop);
    deps.https(client);
    return;
  }
  rec.protocol = protocolOf(listener);

  const route = routeFor(listener, sni);
  if (route === undefined) {
    reject('no_route');
    return;
  }
  rec.route = route.name;
  const backend = route.backends.pick();
  if (backend === undefined) {
    reject('no_backend');
    return;
  }
  if (backend.cluster === undefined) {
    reject('invalid_backend', backend.invalid ?? '');
    return;
  }

  let tlsClient: TLSSocket | undefined;
  if (listener.mode === 'terminate') {
    const cert = listener.certs.find((c) => sni !== undefined && c.covers(sni)) ?? listener.certs[0];
    if (cert === undefined) {
      reject('tls_handshake_failed', 'no certificate');
      return;
    }
    if (consumed.length > 0) client.unshift(consumed);
    consumed = Buffer.alloc(0);
    tlsClient = new TLSSocket(client, { isServer: true, secureContext: cert.context });
    deps.track(tlsClient);
    const handshake = await tlsHandshake(tlsClient, deps.helloTimeoutMs);
    if (handshake !== undefined) {
      resetRaw(client, tlsClient);
      end('tls_handshake_failed', handshake);
      return;
    }
  }

  const dialed = await dial(backend.cluster, deps.connectTimeoutMs, deps.track);
  if ('reason' in dialed) {
    rec.upstream = dialed.label;
    if (tlsClient) {
      resetRaw(client, tlsClient);
      end(dialed.reason, dialed.error);
    } else {
      reject(dialed.reason, dialed.error);
    }
    return;
  }
  const upstream = dialed.socket;
  rec.upstream = endpointLabel(dialed.endpoint);
  if (client.destroyed) {
    upstream.destroy();
    end('client_closed');
    return;
  }

  let idled = false;
  const onDone = (result: RelayResult): void => {
    rec.bytesFromClient += result.aToB;
    rec.bytesToClient += result.bToA;
    rec.relay = result.path;
    if (idled) end('idle_timeout');
    else if (result.error === undefined) end('closed');
    else end(result.error === 'ECLOSED' ? 'aborted' : 'reset', result.error);
  };
  // Every byte either way is read from or written to the client-facing socket,
  // so its inactivity timer (reads and writes) is the connection's idle timer.
  const closeWhenIdle = (facing: Socket, sockets: readonly Socket[]): void => {
    if (deps.tcpIdleTimeoutMs <= 0) return;
    facing.setTimeout(deps.tcpIdleTimeoutMs, () => {
      idled = true;
      for (const s of sockets) s.destroy();
    });
  };
  if (tlsClient !== undefined) {
    relayTerminated(tlsClient, client, upstream, onDone);
    closeWhenIdle(tlsClient, [tlsClient, client, upstream]);
    return;
  }
  client.off('error', noop);
  const relay = (): void => {
    // The splice engine clears Node's timers of the sockets it takes: only userspace relays are timed here.
    if (deps.connector.relay(client, upstream, onDone) === 'userspace') closeWhenIdle(client, [client, upstream]);
  };
  if (consumed.length === 0) {
    relay();
    return;
  }
  // Buffer-and-replay: the ClientHello read in Node goes first, then the relay takes over.
  rec.bytesFromClient += consumed.length;
  upstream.write(consumed, (err) => {
    if (err) {
      upstream.destroy();
      reject('upstream_error', (err as NodeJS.ErrnoException).code ?? err.message);
      return;
    }
    relay();
  });
}

function protocolOf(l: L4Listener): L4Protocol {
  return l.mode === 'tcp' ? 'tcp' : l.mode === 'terminate' ? 'tls-terminate' : 'tls-passthrough';
}

function routeFor(l: L4Listener, sni: string | undefined): L4Route | undefined {
  if (l.routes === undefined) return l.route;
  return l.routes.lookup(sni ?? '');
}

/** Resolves with undefined once the handshake is done, else with why it failed. */
function tlsHandshake(socket: TLSSocket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const finish = (why: string | undefined): void => {
      clearTimeout(timer);
      socket.off('secure', onSecure);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (why !== undefined) socket.on('error', noop);
      resolve(why);
    };
    const onSecure = (): void => finish(undefined);
    const onError = (err: NodeJS.ErrnoException): void => finish(err.code ?? err.message);
    const onClose = (): void => finish('closed during the handshake');
    const timer = setTimeout(() => finish('handshake timeout'), timeoutMs);
    socket.once('secure', onSecure);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

type Dialed =
  | { readonly socket: Socket; readonly endpoint: EndpointIR }
  | { readonly reason: CloseReason; readonly error: string; readonly label: string };

/** Connect to an endpoint of the cluster; refusals and timeouts try another endpoint (nothing was sent yet). */
async function dial(cluster: L4Cluster, timeoutMs: number, track: (s: Socket) => void): Promise<Dialed> {
  const tried = new Set<EndpointIR>();
  let last: Dialed = { reason: 'no_endpoints', error: '', label: '' };
  for (let attempt = 0; attempt < MAX_CONNECT_ATTEMPTS; attempt++) {
    const ep = cluster.pick(tried);
    if (ep === undefined) break;
    tried.add(ep);
    const result = await connectOnce(ep, timeoutMs);
    if ('socket' in result) {
      track(result.socket);
      return result;
    }
    last = result;
  }
  return last;
}

function connectOnce(ep: EndpointIR, timeoutMs: number): Promise<Dialed> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ep.address, port: ep.port, allowHalfOpen: true, noDelay: true });
    // Not a byte is read before the relay (or the kernel) takes the socket.
    socket.pause();
    const label = endpointLabel(ep);
    const finish = (d: Dialed): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      resolve(d);
    };
    const onConnect = (): void => finish({ socket, endpoint: ep });
    const onError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      finish({ reason: 'connect_failed', error: err.code ?? err.message, label });
    };
    const timer = setTimeout(() => {
      socket.on('error', noop);
      socket.destroy();
      finish({ reason: 'connect_timeout', error: 'ETIMEDOUT', label });
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

