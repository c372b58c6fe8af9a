import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../../util/log.js';
import { endpointLabel } from '../upstreams.js';
import { bindAll } from '../bind.js';
import { newRecord, type CloseReason, type L4Observer, type L4Record } from './observe.js';
import type { CompiledL4Port } from './types.js';

export interface UdpServerDeps {
  readonly logger: Logger;
  readonly observer: L4Observer;
  readonly idleTimeoutMs: number;
  readonly maxFlows: number;
}

/** Datagrams held for a flow while its backend socket connects. */
const MAX_PENDING = 64;
/** A flow is moved to the back of the eviction order at most this often. */
const TOUCH_INTERVAL_MS = 1000;

interface Flow {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly rec: L4Record;
  /** Undefined for a refused flow (no route, no backend...): its datagrams are dropped until it idles out. */
  readonly upstream: UdpSocket | undefined;
  ready: boolean;
  pending: Buffer[];
  lastSeen: number;
  touched: number;
  closed: boolean;
}

/**
 * One bound UDP port. Each client address:port is a flow with its own
 * connected backend socket (so replies come back to the right client); the
 * backend is chosen once per flow by the route's weights. Flows close after
 * `idleTimeoutMs` without a datagram either way; beyond `maxFlows` the least
 * recently active flow is evicted. One access log line per flow.
 */
export class L4UdpServer {
  state: CompiledL4Port;
  readonly transport = 'udp' as const;
  socket: UdpSocket | undefined;
  boundAddress = '';
  readonly #deps: UdpServerDeps;
  /** Insertion order approximates recency (flows are re-inserted when touched). */
  readonly #flows = new Map<string, Flow>();
  readonly #sweep: NodeJS.Timeout;
  #closing: Promise<void> | undefined;

  constructor(deps: UdpServerDeps, state: CompiledL4Port) {
    this.#deps = deps;
    this.state = state;
    this.#sweep = setInterval(() => this.#expire(), Math.max(10, Math.min(5000, Math.floor(deps.idleTimeoutMs / 4))));
    this.#sweep.unref();
  }

  get flowCount(): number {
    return this.#flows.size;
  }

  async listen(): Promise<void> {
    try {
      this.boundAddress = await bindAll(this.state.address, this.state.port, (host) => new Promise((resolve, reject) => {
        const socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', reuseAddr: false, ipv6Only: false });
        const onError = (err: Error): void => {
          socket.close();
          reject(err);
        };
        socket.once('error', onError);
        socket.bind({ address: host, port: this.state.port, exclusive: true }, () => {
          socket.off('error', onError);
          socket.on('error', (err) => this.#deps.logger.warn({ port: this.state.key, err: err.message }, 'UDP listener socket error'));
          socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
          this.socket = socket;
          resolve();
        });
      }));
    } catch (err) {
      clearInterval(this.#sweep);
      throw err;
    }
  }

  get boundPort(): number {
    try {
      return this.socket?.address().port ?? 0;
    } catch {
      return 0;
    }
  }

  /** New flows use the new table; existing flows keep their backend until they idle out. */
  update(state: CompiledL4Port): void {
    this.state = state;
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`;
    let flow = this.#flows.get(key);
    const now = Date.now();
    if (flow === undefined) {
      flow = this.#open(key, rinfo, now);
    } else if (now - flow.touched > TOUCH_INTERVAL_MS) {
      this.#flows.delete(key);
      this.#flows.set(key, flow);
      flow.touched = now;
    }
    flow.lastSeen = now;
    if (flow.upstream === undefined) return;
    flow.rec.bytesFromClient += msg.length;
    if (flow.ready) flow.upstream.send(msg);
    else if (flow.pending.length < MAX_PENDING) flow.pending.push(msg);
  }

  #open(key: string, rinfo: RemoteInfo, now: number): Flow {
    while (this.#flows.size >= this.#deps.maxFlows) {
      const oldest = this.#flows.values().next().value;
      if (oldest === undefined) break;
      this.#close(oldest, 'evicted');
    }
    const listener = this.state.single;
    const rec = newRecord('udp', listener?.id ?? '');
    this.#deps.observer.opened('udp');
    const refused = (reason: CloseReason, error = ''): Flow => {
      rec.reason = reason;
      rec.error = error;
      const f: Flow = { key, address: rinfo.address, port: rinfo.port, rec, upstream: undefined, ready: false, pending: [], lastSeen: now, touched: now, closed: false };
      this.#flows.set(key, f);
      return f;
    };
    const route = listener?.route;
    if (listener === undefined) return refused('no_listener');
    if (route === undefined) return refused('no_route');
    rec.route = route.name;
    const backend = route.backends.pick();
    if (backend === undefined) return refused('no_backend');
    if (backend.cluster === undefined) return refused('invalid_backend', backend.invalid ?? '');
    const ep = backend.cluster.pick();
    if (ep === undefined) return refused('no_endpoints');
    rec.upstream = endpointLabel(ep);
    const upstream = createSocket(isIP(ep.address) === 6 ? 'udp6' : 'udp4');
    const flow: Flow = { key, address: rinfo.address, port: rinfo.port, rec, upstream, ready: false, pending: [], lastSeen: now, touched: now, closed: false };
    this.#flows.set(key, flow);
    upstream.on('message', (reply) => {
      if (flow.closed) return;
      flow.lastSeen = Date.now();
      flow.rec.bytesToClient += reply.length;
      this.socket?.send(reply, flow.port, flow.address);
    });
    // ICMP port unreachable from the backend arrives as ECONNREFUSED on the connected socket.
    upstream.on('error', (err: NodeJS.ErrnoException) => this.#close(flow, 'upstream_error', err.code ?? err.message));
    upstream.connect(ep.port, ep.address, () => {
      if (flow.closed) return;
      flow.ready = true;
      for (const m of flow.pending) upstream.send(m);
      flow.pending = [];
    });
    return flow;
  }

  #close(flow: Flow, reason: CloseReason, error = ''): void {
    if (flow.closed) return;
    flow.closed = true;
    if (this.#flows.get(flow.key) === flow) this.#flows.delete(flow.key);
    if (flow.upstream !== undefined) {
      // Refused flows keep the reason they were refused with.
      flow.rec.reason = reason;
      flow.rec.error = error;
      try {
        flow.upstream.close();
      } catch {
        // already closed
      }
    }
    this.#deps.observer.ended(flow.rec, true);
  }

  #expire(): void {
    const cutoff = Date.now() - this.#deps.idleTimeoutMs;
    for (const flow of [...this.#flows.values()]) {
      if (flow.lastSeen <= cutoff) this.#close(flow, 'idle_timeout');
    }
  }

  /** Stop receiving and close every flow (UDP has nothing in flight to wait for). */
  shutdown(_graceMs: number): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      clearInterval(this.#sweep);
      for (const flow of [...this.#flows.values()]) this.#close(flow, 'shutdown');
      const socket = this.socket;
      if (socket === undefined) {
        resolve();
        return;
      }
      socket.close(() => resolve());
    });
    return this.#closing;
  }
}
