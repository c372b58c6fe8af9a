import type { SecureContext } from 'node:tls';
import type { Registry } from 'prom-client';
import type { RouteTable } from '../../translate/ir.js';
import type { Logger } from '../../util/log.js';
import type { SmoothWeighted } from '../balancer.js';
import type { CompiledPort } from '../compiled.js';
import { PortServer } from '../listeners.js';
import type { DataPlaneMetrics } from '../metrics.js';
import type { ProxyRuntime } from '../proxy.js';
import type { AccessLogSink, ListenerReport } from '../types.js';
import { bindFailureReport } from '../types.js';
import { registerSpliceMetrics, type SpliceEngine } from '../../native/splice.js';
import { compileL4, l4PortKey, servedByL4 } from './compile.js';
import { spliceConnector, userspaceConnector, type L4Connector } from './connector.js';
import { L4Observer } from './observe.js';
import { L4TcpServer, type TcpServerDeps } from './tcpserver.js';
import type { CompiledL4Port, L4Backend, L4Options } from './types.js';
import { L4UdpServer } from './udpserver.js';

export type { L4Options, CompiledL4Port } from './types.js';
export type { L4Connector, RelayDone, RelayResult } from './connector.js';
export { userspaceConnector, spliceConnector } from './connector.js';
export { parseClientHello, type HelloParse } from './clienthello.js';
export { l4PortKey, servedByL4 } from './compile.js';

export interface L4PlaneDeps {
  readonly logger: Logger;
  readonly accessLog: AccessLogSink | undefined;
  readonly registry: Registry | undefined;
  /** For the HTTPS servers of ports shared between HTTPS and TLS listeners. */
  readonly rt: ProxyRuntime;
  readonly httpMetrics: DataPlaneMetrics | undefined;
  readonly keepAliveTimeoutMs: number;
  /** How long a removed port keeps its open connections. */
  readonly portGraceMs: number;
}

type L4Server = L4TcpServer | L4UdpServer;

/** L4Options.tcpIdleTimeoutMs when not given: 1 hour. */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;

/**
 * The L4 data plane: TLS (passthrough by SNI, terminate), TCP and UDP ports,
 * and HTTPS ports shared with TLS listeners (SNI decides: passthrough,
 * terminate, or hand-off to the HTTPS server). apply() binds, swaps or
 * unbinds ports like the HTTP data plane; open connections keep the table
 * they started with.
 */
export class L4Plane {
  readonly #deps: L4PlaneDeps;
  readonly #observer: L4Observer;
  #connector: L4Connector;
  readonly #opts: Required<Omit<L4Options, 'splice' | 'connector'>>;
  readonly #servers = new Map<string, L4Server>();
  #balancers = new Map<string, SmoothWeighted<L4Backend>>();
  #contexts = new Map<string, SecureContext>();

  constructor(deps: L4PlaneDeps, opts: L4Options = {}) {
    this.#deps = deps;
    this.#observer = new L4Observer(deps.accessLog, deps.registry);
    this.#connector = opts.connector ?? userspaceConnector;
    if (opts.connector === undefined && opts.splice !== undefined) this.useSplice(opts.splice);
    this.#opts = {
      helloTimeoutMs: opts.helloTimeoutMs ?? 10_000,
      helloMaxBytes: opts.helloMaxBytes ?? 16_384,
      connectTimeoutMs: opts.connectTimeoutMs ?? 10_000,
      tcpIdleTimeoutMs: opts.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS,
      udpIdleTimeoutMs: opts.udpIdleTimeoutMs ?? 60_000,
      udpMaxFlows: opts.udpMaxFlows ?? 16_384,
    };
  }

  /** Relay new connections through this splice engine (kernel when enabled, userspace per connection otherwise). */
  useSplice(engine: SpliceEngine): void {
    this.#connector = spliceConnector(engine);
    const registry = this.#deps.registry;
    if (registry && registry.getSingleMetric('sluice_splice_enabled') === undefined) registerSpliceMetrics(registry, engine);
  }

  /** Keys ("address|port") of HTTPS ports of `table` that this plane binds and fronts: the HTTP plane must not bind them. */
  static frontedKeys(table: RouteTable): Set<string> {
    const out = new Set<string>();
    for (const p of table.ports) if (p.protocol === 'HTTPS' && servedByL4(p)) out.add(l4PortKey(p));
    return out;
  }

  /** Ports bound, as key -> the port the OS gave. */
  get boundPorts(): ReadonlyMap<string, number> {
    const out = new Map<string, number>();
    for (const [key, s] of this.#servers) out.set(key, s.boundPort);
    return out;
  }

  /** Open UDP flows (all ports), for tests and metrics. */
  get udpFlows(): number {
    let n = 0;
    for (const s of this.#servers.values()) if (s instanceof L4UdpServer) n += s.flowCount;
    return n;
  }

  /**
   * Apply a table: returns the report of every listener on an L4 port.
   * `httpsPorts` are the HTTP plane's compiled ports; the fronted ones are
   * served through an unbound PortServer fed by this plane.
   */
  async apply(table: RouteTable, httpsPorts: ReadonlyMap<string, CompiledPort>): Promise<Record<string, ListenerReport>> {
    const compiled = compileL4(table, { logger: this.#deps.logger, previousBalancers: this.#balancers, contexts: this.#contexts });
    const listeners: Record<string, ListenerReport> = {};
    for (const p of compiled.ports.values()) for (const id of p.listenerIds) listeners[id] = compiled.problems[id] ?? { programmed: true };

    // Ports that go away or change transport or role stop first, so the new ones can bind.
    const removed: L4Server[] = [];
    for (const [key, server] of this.#servers) {
      const next = compiled.ports.get(key);
      if (next === undefined || next.transport !== server.transport || next.fronts !== server.state.fronts) {
        removed.push(server);
        this.#servers.delete(key);
      }
    }
    for (const s of removed) s.shutdown(this.#deps.portGraceMs).catch(() => undefined);
    if (removed.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));

    const binds: Promise<void>[] = [];
    for (const [key, cp] of compiled.ports) {
      const existing = this.#servers.get(key);
      const https = cp.fronts ? this.#httpsFor(existing, httpsPorts.get(key)) : undefined;
      if (existing !== undefined) {
        if (existing instanceof L4TcpServer) existing.update(cp, https);
        else existing.update(cp);
        continue;
      }
      const server: L4Server = cp.transport === 'udp'
        ? new L4UdpServer({ logger: this.#deps.logger, observer: this.#observer, idleTimeoutMs: this.#opts.udpIdleTimeoutMs, maxFlows: this.#opts.udpMaxFlows }, cp)
        : new L4TcpServer(this.#tcpDeps(), cp, https);
      binds.push(server.listen().then(
        () => {
          this.#servers.set(key, server);
        },
        (err: Error) => {
          this.#deps.logger.error({ port: key, err: err.message }, 'listener port could not be bound');
          for (const id of cp.listenerIds) listeners[id] = bindFailureReport(err);
          server.shutdown(0).catch(() => undefined);
        },
      ));
    }
    await Promise.all(binds);

    this.#balancers = compiled.balancers;
    for (const key of this.#contexts.keys()) if (!compiled.usedContexts.has(key)) this.#contexts.delete(key);
    return listeners;
  }

  /** Connection dependencies; the connector is read per connection (useSplice may swap it). */
  #tcpDeps(): TcpServerDeps {
    const plane = this;
    return {
      logger: this.#deps.logger,
      observer: this.#observer,
      get connector() {
        return plane.#connector;
      },
      helloTimeoutMs: this.#opts.helloTimeoutMs,
      helloMaxBytes: this.#opts.helloMaxBytes,
      connectTimeoutMs: this.#opts.connectTimeoutMs,
      tcpIdleTimeoutMs: this.#opts.tcpIdleTimeoutMs,
    };
  }

  /** The HTTPS server of a fronted port: kept across tables, updated with the newly compiled port. */
  #httpsFor(existing: L4Server | undefined, cp: CompiledPort | undefined): PortServer | undefined {
    if (cp === undefined) return undefined;
    const current = existing instanceof L4TcpServer ? existing.https : undefined;
    if (current !== undefined && current.protocol === cp.protocol) {
      current.update(cp);
      return current;
    }
    return new PortServer(this.#deps.rt, cp, { keepAliveTimeoutMs: this.#deps.keepAliveTimeoutMs, metrics: this.#deps.httpMetrics });
  }

  /** Stop accepting and let open connections finish for up to timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.all([...this.#servers.values()].map((s) => s.shutdown(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.#servers.values()].map((s) => s.shutdown(0)));
    this.#servers.clear();
  }
}
