import type { Logger } from '../util/log.js';
import type { Registry } from 'prom-client';

/** What apply() says about each listener of the table. */
export interface ListenerReport {
  readonly programmed: boolean;
  /** Condition reason when not programmed (e.g. PortUnavailable). */
  readonly reason?: string;
  readonly message?: string;
  /** The bind failed because the address is not local to this host (EADDRNOTAVAIL). */
  readonly addressNotUsable?: boolean;
}

/** The report for listeners whose port could not be bound. */
export function bindFailureReport(err: Error): ListenerReport {
  const code = (err.cause as NodeJS.ErrnoException | undefined)?.code ?? (err as NodeJS.ErrnoException).code;
  return { programmed: false, reason: 'PortUnavailable', message: err.message, addressNotUsable: code === 'EADDRNOTAVAIL' };
}

export interface ApplyReport {
  /** Keyed by listener id "namespace/gateway/listener". */
  readonly listeners: Record<string, ListenerReport>;
}

/** One access log line (one per request, written as one JSON object). */
export interface AccessLogEntry {
  /** ISO 8601 time the request started. */
  time: string;
  /** Listener id, or "" when no listener matched. */
  listener: string;
  /** "namespace/name/ruleIndex" of the route that matched, or "". */
  route: string;
  method: string;
  host: string;
  /** Request target as received (path and query). */
  path: string;
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
  duration_ms: number;
  /** "address:port" of the upstream endpoint used, or "". */
  upstream: string;
  /** Why the proxy answered itself (no_route, invalid_backend, no_endpoints, upstream_timeout, redirect...), or "". */
  reason: string;
  /** The upstream error code or message when the upstream failed, or "". */
  upstream_error: string;
  /**
   * L4 lines only (one per TCP/TLS connection or UDP flow; method and path are
   * "", status 0, host the SNI, `bytes` what was sent to the client, `reason`
   * why it closed): 'tcp' | 'tls-passthrough' | 'tls-terminate' | 'udp'.
   */
  protocol?: string;
  /** L4 only: bytes received from the client. */
  bytes_received?: number;
  /** L4 only: 'kernel' when the sockmap programs moved the bytes, 'userspace' when Node piped them. */
  relay?: 'kernel' | 'userspace';
}

export type AccessLogSink = (entry: AccessLogEntry) => void;

export type EndpointPolicy = 'round-robin' | 'least-request';

export interface DataPlaneOptions {
  readonly logger: Logger;
  /** Receives one entry per request. Default: one JSON line per request to `accessLogDestination`. `false` disables it. */
  readonly accessLog?: AccessLogSink | false;
  /** Where the built-in JSON access log goes when `accessLog` is not given: 'stdout' (default), 'off' or a file path. */
  readonly accessLogDestination?: import('./accesslog.js').AccessLogDestination;
  /** When given, the data plane registers its metrics here. */
  readonly metrics?: Registry;
  /** How a cluster picks among its endpoints. Default round-robin. */
  readonly endpointPolicy?: EndpointPolicy;
  /** How long an upstream pool that no table references stays open (in-flight requests may still use it). Default 30 s. */
  readonly poolGraceMs?: number;
  /** How long a removed port keeps its open connections before they are closed. Default 30 s. */
  readonly portGraceMs?: number;
  /** Max connections per upstream endpoint. Default 1024. */
  readonly upstreamConnections?: number;
  /**
   * HTTP/1.1 client for plain-HTTP upstreams: 'native' (default: node's llhttp binding,
   * see h1client.ts) or 'undici' (undici Pool + dispatch). TLS upstreams always use undici.
   * Without this option, SLUICE_UPSTREAM_CLIENT=undici|native in the environment decides.
   */
  readonly upstreamClient?: 'undici' | 'native';
  /**
   * HTTP/1.1 server of HTTP and HTTPS ports: 'native' (default: Sluice's own, see h1/server.ts)
   * or 'node' (node:http / node:https). Without this option,
   * SLUICE_HTTP_SERVER=native|node in the environment decides.
   */
  readonly httpServer?: 'native' | 'node';
  /** Idle keep-alive timeout for client connections. Default 60 s. */
  readonly keepAliveTimeoutMs?: number;
  /** TLS passthrough/terminate, TCP and UDP: kernel splicing, timeouts, UDP flow table. */
  readonly l4?: import('./l4/types.js').L4Options;
  /**
   * Kernel (sockmap) splicing of L4 connections when `l4.splice` is not given:
   * 'auto' probes, loads and self-tests the addon and splices only if all pass;
   * 'on' is the same but the first apply() rejects when splicing is
   * unavailable; 'off' or absent pipes in userspace. The engine is made once
   * and closed with the data plane.
   */
  readonly ebpf?: 'auto' | 'on' | 'off';
}
