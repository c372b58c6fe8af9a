import type { RouteTable } from '../translate/ir.js';
import type { Logger } from '../util/log.js';
import { AccessLogWriter } from './accesslog.js';
import type { SmoothWeighted } from './balancer.js';
import { compileTable, portKey } from './compile.js';
import type { CompiledBackend, CompiledPort } from './compiled.js';
import { L4Plane } from './l4/index.js';
import type { SpliceEngine } from '../native/splice.js';
import { PortServer } from './listeners.js';
import { DataPlaneMetrics, registerAccessLogMetrics } from './metrics.js';
import type { ProxyRuntime } from './proxy.js';
import { TlsContextCache } from './tls.js';
import type { AccessLogSink, ApplyReport, DataPlaneOptions, ListenerReport } from './types.js';
import { bindFailureReport } from './types.js';
import { UpstreamRegistry } from './upstreams.js';

export type { AccessLogEntry, AccessLogSink, ApplyReport, DataPlaneOptions, ListenerReport } from './types.js';
export { parseAccessLogDestination, type AccessLogDestination } from './accesslog.js';
export type { L4Options, L4Connector } from './l4/index.js';

/**
 * The data plane: binds the ports of a RouteTable and proxies
 * requests by it (HTTP/HTTPS here; TLS, TCP and UDP in l4/). apply() swaps tables atomically; a port that stays in the
 * table keeps its server and connections, a request keeps the table it
 * started with, upstream pools survive table changes.
 */
export class DataPlane {
  readonly #logger: Logger;
  readonly #rt: ProxyRuntime;
  readonly #logWriter: AccessLogWriter | undefined;
  readonly #upstreams: UpstreamRegistry;
  readonly #tlsCache = new TlsContextCache();
  readonly #servers = new Map<string, PortServer>();
  readonly #opts: DataPlaneOptions;
  readonly #l4: L4Plane;
  /** Set while the engine for `ebpf` is being made (awaited by apply); it resolves to the engine this data plane owns. */
  #splice: Promise<SpliceEngine | undefined> | undefined;
  #metrics: DataPlaneMetrics | undefined;
  #table: RouteTable | undefined;
  #balancers = new Map<string, SmoothWeighted<CompiledBackend>>();
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(opts: DataPlaneOptions) {
    this.#opts = opts;
    this.#logger = opts.logger;
    let accessLog: AccessLogSink | undefined;
    if (opts.accessLog === undefined) {
      this.#logWriter = AccessLogWriter.open(opts.accessLogDestination ?? 'stdout');
      accessLog = this.#logWriter?.sink;
    } else if (opts.accessLog !== false) {
      accessLog = opts.accessLog;
    }
    this.#metrics = opts.metrics ? new DataPlaneMetrics(opts.metrics) : undefined;
    if (opts.metrics !== undefined && this.#logWriter !== undefined) registerAccessLogMetrics(opts.metrics, this.#logWriter);
    this.#rt = { logger: opts.logger, accessLog, accessLogWriter: this.#logWriter, metrics: this.#metrics, draining: false };
    this.#upstreams = new UpstreamRegistry({
      logger: opts.logger,
      graceMs: opts.poolGraceMs ?? 30_000,
      connections: opts.upstreamConnections ?? 1024,
      client: opts.upstreamClient ?? upstreamClientFromEnv(),
    });
    this.#l4 = new L4Plane({
      logger: opts.logger,
      accessLog,
      registry: opts.metrics,
      rt: this.#rt,
      httpMetrics: this.#metrics,
      keepAliveTimeoutMs: opts.keepAliveTimeoutMs ?? 60_000,
      portGraceMs: opts.portGraceMs ?? 30_000,
    }, opts.l4);
    if (opts.ebpf !== undefined && opts.ebpf !== 'off' && opts.l4?.splice === undefined && opts.l4?.connector === undefined) {
      const mode = opts.ebpf;
      this.#splice = import('../native/splice.js')
        .then(({ createSpliceEngine }) => createSpliceEngine({ mode, logger: opts.logger }))
        .then((engine) => {
          this.#l4.useSplice(engine);
          return engine;
        });
      // 'on' failing is reported by apply(); never an unhandled rejection.
      this.#splice.catch(() => undefined);
    }
  }

  /** The table last applied. */
  get table(): RouteTable | undefined {
    return this.#table;
  }

  /** Ports currently bound, as "address|port" -> the port the OS gave (tests bind port 0). */
  get boundPorts(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const [key, s] of this.#servers) out.set(key, s.boundPort);
    for (const [key, port] of this.#l4.boundPorts) out.set(key, port);
    return out;
  }

  /** Open UDP flows across UDP ports. */
  get udpFlows(): number {
    return this.#l4.udpFlows;
  }

  /** Apply a table. Calls are serialised; each resolves with the bind state of every listener in its table. */
  apply(table: RouteTable): Promise<ApplyReport> {
    const run = this.#chain.then(() => this.#apply(table));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #apply(table: RouteTable): Promise<ApplyReport> {
    if (this.#closed) throw new Error('data plane is closed');
    if (this.#splice !== undefined) await this.#splice;
    this.#upstreams.begin();
    const { table: compiled, problems, balancers } = compileTable(table, {
      logger: this.#logger,
      upstreams: this.#upstreams,
      tlsCache: this.#tlsCache,
      endpointPolicy: this.#opts.endpointPolicy ?? 'round-robin',
      previousBalancers: this.#balancers,
    });
    this.#tlsCache.prune();

    const listeners: Record<string, ListenerReport> = {};
    for (const p of table.ports) {
      if (p.protocol !== 'HTTP' && p.protocol !== 'HTTPS') continue;
      for (const l of p.listeners) listeners[l.id] = problems[l.id] ?? { programmed: true };
    }

    // HTTPS ports shared with TLS listeners are bound by the L4 plane, which peeks the SNI.
    const fronted = L4Plane.frontedKeys(table);
    // Ports that go away, or change between HTTP and HTTPS, stop listening first.
    const removed: PortServer[] = [];
    for (const [key, server] of this.#servers) {
      const next = compiled.ports.get(key);
      if (next === undefined || next.protocol !== server.protocol || fronted.has(key)) {
        removed.push(server);
        this.#servers.delete(key);
      }
    }
    const grace = this.#opts.portGraceMs ?? 30_000;
    for (const s of removed) {
      // Unbinds now; open connections get `grace` to finish in the background.
      s.shutdown(grace).catch(() => undefined);
    }
    if (removed.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));

    // L4 ports (TLS, TCP, UDP, shared HTTPS) unbind and bind before the HTTP ones bind.
    Object.assign(listeners, await this.#l4.apply(table, compiled.ports));

    // Bind new ports; swap the rest.
    const binds: Promise<void>[] = [];
    const swaps: [PortServer, CompiledPort][] = [];
    for (const [key, cp] of compiled.ports) {
      if (fronted.has(key)) continue;
      const existing = this.#servers.get(key);
      if (existing !== undefined) {
        swaps.push([existing, cp]);
        continue;
      }
      const server = new PortServer(this.#rt, cp, {
        keepAliveTimeoutMs: this.#opts.keepAliveTimeoutMs ?? 60_000,
        metrics: this.#metrics,
        httpServer: this.#opts.httpServer ?? httpServerFromEnv(),
      });
      binds.push(server.listen().then(
        () => {
          this.#servers.set(key, server);
        },
        (err: Error) => {
          this.#logger.error({ port: key, err: err.message }, 'listener port could not be bound');
          for (const id of cp.listenerIds) {
            listeners[id] = bindFailureReport(err);
          }
        },
      ));
    }
    await Promise.all(binds);
    for (const [server, cp] of swaps) server.update(cp);

    this.#table = table;
    this.#balancers = balancers;
    this.#upstreams.commit();
    this.#logger.info({ version: table.version, ports: compiled.ports.size }, 'route table applied');
    return { listeners };
  }

  /**
   * Graceful stop: stop accepting, let in-flight requests finish (their
   * responses carry Connection: close), close idle keep-alive connections,
   * and force-close what is left after timeoutMs.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.#rt.draining = true;
    await Promise.all([...[...this.#servers.values()].map((s) => s.shutdown(timeoutMs)), this.#l4.drain(timeoutMs)]);
    await this.#logWriter?.flush();
  }

  /** Close everything now: servers, connections, upstream pools. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain;
    this.#rt.draining = true;
    await Promise.all([...[...this.#servers.values()].map((s) => s.shutdown(0)), this.#l4.close()]);
    this.#servers.clear();
    await this.#upstreams.closeAll();
    if (this.#splice !== undefined) (await this.#splice.catch(() => undefined))?.close();
    await this.#logWriter?.close();
  }
}

export { portKey };

/** SLUICE_HTTP_SERVER=node|native picks the HTTP/1.1 server of HTTP and HTTPS ports without a code change; default native. */
export function httpServerFromEnv(env: NodeJS.ProcessEnv = process.env): 'node' | 'native' {
  return env.SLUICE_HTTP_SERVER === 'node' ? 'node' : 'native';
}

/** SLUICE_UPSTREAM_CLIENT=undici|native picks the plain-HTTP upstream client without a code change; default native. */
export function upstreamClientFromEnv(env: NodeJS.ProcessEnv = process.env): 'undici' | 'native' {
  return env.SLUICE_UPSTREAM_CLIENT === 'undici' ? 'undici' : 'native';
}
