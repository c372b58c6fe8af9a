import { Counter, Gauge, type Registry } from 'prom-client';
import { isoTime } from '../accesslog.js';
import type { AccessLogEntry, AccessLogSink } from '../types.js';

export type L4Protocol = 'tcp' | 'tls-passthrough' | 'tls-terminate' | 'udp';

/** Why an L4 connection or UDP flow ended (the access log's `reason`). */
export type CloseReason =
  | 'closed' | 'reset' | 'aborted' | 'shutdown'
  | 'no_listener' | 'no_route' | 'no_backend' | 'invalid_backend' | 'no_endpoints'
  | 'connect_failed' | 'connect_timeout'
  | 'hello_timeout' | 'not_tls' | 'client_closed' | 'tls_handshake_failed'
  | 'idle_timeout' | 'evicted' | 'upstream_error' | 'flow_limit';

/** What one connection (or flow) records while it lives; turned into one access log line and metrics. */
export interface L4Record {
  readonly startedMs: number;
  listener: string;
  route: string;
  protocol: L4Protocol;
  sni: string;
  upstream: string;
  bytesToClient: number;
  bytesFromClient: number;
  relay: 'kernel' | 'userspace' | undefined;
  reason: CloseReason;
  error: string;
}

export function newRecord(protocol: L4Protocol, listener = ''): L4Record {
  return {
    startedMs: Date.now(), listener, route: '', protocol, sni: '', upstream: '', bytesToClient: 0, bytesFromClient: 0,
    relay: undefined, reason: 'closed', error: '',
  };
}

/**
 * L4 metrics:
 *   sluice_l4_connections_total{listener,protocol,reason}  connections and UDP flows ended
 *   sluice_l4_active_connections{protocol}                 open connections and flows
 *   sluice_l4_bytes_total{listener,direction}              rx = from clients, tx = to clients
 */
export class L4Observer {
  readonly #accessLog: AccessLogSink | undefined;
  readonly #ended: Counter<'listener' | 'protocol' | 'reason'> | undefined;
  readonly #active: Gauge<'protocol'> | undefined;
  readonly #bytes: Counter<'listener' | 'direction'> | undefined;

  constructor(accessLog: AccessLogSink | undefined, registry: Registry | undefined) {
    this.#accessLog = accessLog;
    if (registry === undefined) return;
    this.#ended = getOrCreate(registry, 'sluice_l4_connections_total', () => new Counter({
      name: 'sluice_l4_connections_total',
      help: 'L4 connections and UDP flows that ended, by listener, protocol and close reason',
      labelNames: ['listener', 'protocol', 'reason'],
      registers: [registry],
    }));
    this.#active = getOrCreate(registry, 'sluice_l4_active_connections', () => new Gauge({
      name: 'sluice_l4_active_connections',
      help: 'Open L4 connections and UDP flows, by protocol',
      labelNames: ['protocol'],
      registers: [registry],
    }));
    this.#bytes = getOrCreate(registry, 'sluice_l4_bytes_total', () => new Counter({
      name: 'sluice_l4_bytes_total',
      help: 'Bytes relayed by L4 listeners (rx: from clients, tx: to clients), counted when a connection or flow ends',
      labelNames: ['listener', 'direction'],
      registers: [registry],
    }));
  }

  opened(protocol: L4Protocol): void {
    this.#active?.inc({ protocol });
  }

  /** The connection left the L4 plane without an L4 line (handed to the HTTPS server sharing the port). */
  forget(r: L4Record): void {
    this.#active?.dec({ protocol: r.protocol });
  }

  /** The connection or flow ended: one access log line, metrics. Call once; pair with opened() when `wasOpen`. */
  ended(r: L4Record, wasOpen: boolean): void {
    if (wasOpen) this.#active?.dec({ protocol: r.protocol });
    this.#ended?.inc({ listener: r.listener, protocol: r.protocol, reason: r.reason });
    if (r.bytesFromClient > 0) this.#bytes?.inc({ listener: r.listener, direction: 'rx' }, r.bytesFromClient);
    if (r.bytesToClient > 0) this.#bytes?.inc({ listener: r.listener, direction: 'tx' }, r.bytesToClient);
    const sink = this.#accessLog;
    if (sink === undefined) return;
    const entry: AccessLogEntry = {
      time: isoTime(r.startedMs),
      listener: r.listener,
      route: r.route,
      method: '',
      host: r.sni,
      path: '',
      status: 0,
      bytes: r.bytesToClient,
      duration_ms: Date.now() - r.startedMs,
      upstream: r.upstream,
      reason: r.reason,
      upstream_error: r.error,
      protocol: r.protocol,
      bytes_received: r.bytesFromClient,
      ...(r.relay ? { relay: r.relay } : {}),
    };
    sink(entry);
  }
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
