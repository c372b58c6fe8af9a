import { Pool, type Dispatcher } from 'undici';
import type { ConnectionOptions } from 'node:tls';
import type { ClusterIR, EndpointIR } from '../translate/ir.js';
import type { Logger } from '../util/log.js';
import type { EndpointPolicy } from './types.js';
import { H2cUpstream } from './h2c.js';
import { NativeH1Upstream } from './h1client.js';
import { upstreamTLSKey, upstreamTLSOptions } from './upstream-tls.js';

/** undici reads `servername` from dispatch options at run time; its typings omit it. */
export type UpstreamDispatchOptions = Dispatcher.DispatchOptions & { readonly servername?: string };

/** An HTTP/1.1 upstream endpoint: one undici Pool with keep-alive. */
export class HttpUpstream {
  readonly kind = 'http1' as const;
  /**
   * Passed with every dispatch. For TLS it is the BackendTLSPolicy SNI (undici
   * would otherwise take it from each request's Host and reconnect when it
   * changes); for plain HTTP it is only a constant that spares undici deriving
   * one from the Host header on every request.
   */
  readonly servername: string;
  /** Requests currently in flight through this endpoint (least-request uses it). */
  inflight = 0;
  readonly pool: Pool;

  constructor(
    readonly key: string,
    /** "address:port" for logs. */
    readonly label: string,
    readonly address: string,
    readonly port: number,
    origin: string,
    options: Pool.Options,
    /** TLS options for raw connections (WebSocket pass-through) when the cluster originates TLS. */
    readonly tlsConnect: ConnectionOptions | undefined,
  ) {
    this.pool = new Pool(origin, options);
    this.servername = tlsConnect?.servername ?? 'upstream';
  }

  dispatch(opts: UpstreamDispatchOptions, handler: Dispatcher.DispatchHandler): void {
    this.pool.dispatch(opts, handler);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

export type Upstream = HttpUpstream | NativeH1Upstream | H2cUpstream;

/** A cluster as one table version sees it: its endpoints' upstreams and an endpoint picker. */
export class ClusterRuntime {
  #cursor = 0;

  constructor(
    readonly id: string,
    readonly protocol: ClusterIR['protocol'],
    readonly endpoints: readonly Upstream[],
    readonly policy: EndpointPolicy,
  ) {}

  /** Next endpoint, avoiding `avoid` when another exists (retries). Undefined when the cluster is empty. */
  pick(avoid?: Upstream): Upstream | undefined {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) return undefined;
    if (n === 1) return eps[0];
    if (this.policy === 'least-request') {
      const start = this.#cursor++ % n;
      let best: Upstream | undefined;
      for (let k = 0; k < n; k++) {
        const ep = eps[(start + k) % n];
        if (ep === avoid) continue;
        if (best === undefined || ep.inflight < best.inflight) best = ep;
      }
      return best ?? eps[start];
    }
    let ep = eps[this.#cursor++ % n];
    if (ep === avoid) ep = eps[this.#cursor++ % n];
    if (this.#cursor > 0x3fffffff) this.#cursor = 0;
    return ep;
  }
}

export function endpointLabel(ep: EndpointIR): string {
  return ep.address.includes(':') ? `[${ep.address}]:${ep.port}` : `${ep.address}:${ep.port}`;
}

interface Entry {
  readonly upstream: Upstream;
  /** Generation that last used it. */
  usedIn: number;
  closeTimer?: NodeJS.Timeout;
}

export interface UpstreamRegistryOptions {
  readonly logger: Logger;
  readonly graceMs: number;
  readonly connections: number;
  /** Client for plain-HTTP endpoints (TLS endpoints always use undici). */
  readonly client?: 'undici' | 'native';
}

/**
 * Upstream connection pools shared across table versions, keyed by protocol,
 * TLS settings and "address:port". A table change keeps the pools of endpoints
 * that stay; pools no table uses any more close after a grace period (requests
 * that started on an older table may still be using them).
 */
export class UpstreamRegistry {
  readonly #entries = new Map<string, Entry>();
  #generation = 0;
  readonly #opts: UpstreamRegistryOptions;

  constructor(opts: UpstreamRegistryOptions) {
    this.#opts = opts;
  }

  /** Start collecting the upstreams the next table uses. */
  begin(): number {
    return ++this.#generation;
  }

  get(cluster: ClusterIR, ep: EndpointIR): Upstream {
    const tlsKey = cluster.tls ? upstreamTLSKey(cluster.tls) : 'plain';
    const label = endpointLabel(ep);
    const key = `${cluster.protocol}|${tlsKey}|${label}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = { upstream: this.#create(key, label, cluster, ep), usedIn: this.#generation };
      this.#entries.set(key, entry);
    }
    entry.usedIn = this.#generation;
    if (entry.closeTimer) {
      clearTimeout(entry.closeTimer);
      entry.closeTimer = undefined;
    }
    return entry.upstream;
  }

  /** Schedule closing every upstream the current generation did not use. */
  commit(): void {
    for (const [key, entry] of this.#entries) {
      if (entry.usedIn === this.#generation || entry.closeTimer) continue;
      entry.closeTimer = setTimeout(() => {
        if (this.#entries.get(key) !== entry) return;
        this.#entries.delete(key);
        entry.upstream.close().catch((err: unknown) => this.#opts.logger.debug({ err, upstream: entry.upstream.label }, 'upstream close failed'));
      }, this.#opts.graceMs);
      entry.closeTimer.unref();
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  async closeAll(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map(async (e) => {
      if (e.closeTimer) clearTimeout(e.closeTimer);
      await e.upstream.destroy().catch(() => undefined);
    }));
  }

  #create(key: string, label: string, cluster: ClusterIR, ep: EndpointIR): Upstream {
    const host = ep.address.includes(':') ? `[${ep.address}]` : ep.address;
    if (cluster.protocol === 'h2c') {
      return new H2cUpstream(key, label, ep.address, ep.port, this.#opts.logger, cluster.tls ? upstreamTLSOptions(cluster.tls) : undefined);
    }
    if (this.#opts.client === 'native' && !cluster.tls) {
      return new NativeH1Upstream(key, label, ep.address, ep.port, {
        connections: this.#opts.connections,
        keepAliveTimeoutMs: 4_000,
        headersTimeoutMs: 300_000,
        logger: this.#opts.logger,
      });
    }
    const options: Pool.Options = {
      connections: this.#opts.connections,
      pipelining: 1,
      allowH2: false,
      keepAliveTimeout: 4_000,
      // Idle time between body chunks is unlimited (long polls, SSE); HTTPRoute timeouts bound requests.
      // Response headers get the default 300 s safety net when a route sets no timeout.
      bodyTimeout: 0,
      headersTimeout: 300_000,
    };
    let origin = `http://${host}:${ep.port}`;
    let tlsConnect: ConnectionOptions | undefined;
    const tls = cluster.tls;
    if (tls) {
      origin = `https://${host}:${ep.port}`;
      tlsConnect = upstreamTLSOptions(tls);
      options.connect = tlsConnect as Pool.Options['connect'];
    }
    return new HttpUpstream(key, label, ep.address, ep.port, origin, options, tlsConnect);
  }
}
