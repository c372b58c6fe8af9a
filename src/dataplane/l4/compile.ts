import { createSecureContext, type SecureContext } from 'node:tls';
import { createHash, X509Certificate } from 'node:crypto';
import type { ListenerIR, PortIR, RouteTable, WeightedBackendIR } from '../../translate/ir.js';
import type { Logger } from '../../util/log.js';
import { SmoothWeighted } from '../balancer.js';
import { HostIndex } from '../hostindex.js';
import type { ListenerReport } from '../types.js';
import { L4Cluster, type CompiledL4Port, type L4Backend, type L4Listener, type L4Mode, type L4Route, type L4TerminateCert } from './types.js';

/** TLS settings of Terminate listeners: no ALPN (the bytes after TLS are not ours to interpret). */
const TERMINATE_TLS_OPTIONS = { minVersion: 'TLSv1.2' } as const;

export interface L4CompileDeps {
  readonly logger: Logger;
  /** Balancers of the previous table, reused when a route's backends did not change (keeps splits exact). */
  readonly previousBalancers: ReadonlyMap<string, SmoothWeighted<L4Backend>>;
  /** SecureContexts by certificate content, kept across tables. */
  readonly contexts: Map<string, SecureContext>;
}

export interface L4CompileResult {
  readonly ports: Map<string, CompiledL4Port>;
  readonly balancers: Map<string, SmoothWeighted<L4Backend>>;
  /** Listeners that cannot be programmed whatever happens to their port (bad certificate). */
  readonly problems: Record<string, ListenerReport>;
  /** Certificate contexts the table uses (the rest can be dropped). */
  readonly usedContexts: Set<string>;
}

/** The key of the socket an L4 port binds: UDP ports are apart from TCP ones with the same number. */
export function l4PortKey(p: { address: string; port: number; protocol: PortIR['protocol'] }): string {
  return p.protocol === 'UDP' ? `${p.address}|${p.port}|udp` : `${p.address}|${p.port}`;
}

/** Does the L4 data plane serve this port? TLS/TCP/UDP ports, and HTTPS ports shared with TLS listeners (it peeks the SNI and hands HTTPS connections over). */
export function servedByL4(p: PortIR): boolean {
  if (p.protocol === 'TLS' || p.protocol === 'TCP' || p.protocol === 'UDP') return true;
  return p.protocol === 'HTTPS' && p.listeners.some((l) => l.protocol === 'TLS');
}

/** Compile the L4 ports of a table. Never throws on table content: bad bits are logged and skipped. */
export function compileL4(table: RouteTable, deps: L4CompileDeps): L4CompileResult {
  const out: L4CompileResult = { ports: new Map(), balancers: new Map(), problems: {}, usedContexts: new Set() };
  const clusters = new Map<string, L4Cluster>();
  for (const p of table.ports) {
    if (!servedByL4(p)) continue;
    const key = l4PortKey(p);
    if (out.ports.has(key)) {
      deps.logger.warn({ port: key }, 'duplicate L4 port in route table; keeping the first');
      continue;
    }
    out.ports.set(key, compilePort(p, key, table, clusters, deps, out));
  }
  return out;
}

function compilePort(p: PortIR, key: string, table: RouteTable, clusters: Map<string, L4Cluster>, deps: L4CompileDeps, out: L4CompileResult): CompiledL4Port {
  const listeners = new HostIndex<L4Listener>();
  const compiled = p.listeners.map((l) => compileListener(l, table, clusters, deps, out));
  // p.listeners are sorted most specific hostname first: the first one registered for a name wins.
  for (const l of compiled) listeners.add(l.hostname, l);
  const transport = p.protocol === 'UDP' ? 'udp' : 'tcp';
  const needsHello = compiled.some((l) => l.mode === 'passthrough' || l.mode === 'terminate' || l.mode === 'https');
  return {
    key,
    address: p.address,
    port: p.port,
    transport,
    needsHello,
    listeners,
    single: needsHello ? undefined : compiled[0],
    listenerIds: p.listeners.map((l) => l.id),
    fronts: compiled.some((l) => l.mode === 'https'),
  };
}

function listenerMode(l: ListenerIR): L4Mode {
  switch (l.protocol) {
    case 'TCP':
      return 'tcp';
    case 'UDP':
      return 'udp';
    case 'HTTPS':
    case 'HTTP':
      return 'https';
    case 'TLS':
      return l.tlsMode === 'Terminate' ? 'terminate' : 'passthrough';
  }
}

function compileListener(l: ListenerIR, table: RouteTable, clusters: Map<string, L4Cluster>, deps: L4CompileDeps, out: L4CompileResult): L4Listener {
  const mode = listenerMode(l);
  const routes = l.l4Routes.map((r) => compileRoute(r.ref, r.backends, table, clusters, deps, out));
  let byName: HostIndex<L4Route> | undefined;
  if (mode === 'passthrough' || mode === 'terminate') {
    byName = new HostIndex<L4Route>();
    // l4Routes are oldest first: the oldest route wins a hostname; exact names beat wildcards in lookup.
    l.l4Routes.forEach((r, i) => {
      if (r.hostnames.length === 0) byName!.add(undefined, routes[i]);
      else for (const h of r.hostnames) byName!.add(h, routes[i]);
    });
  }
  const certs = mode === 'terminate' ? terminateCerts(l, deps, out) : [];
  return { id: l.id, hostname: l.hostname, mode, route: mode === 'tcp' || mode === 'udp' ? routes[0] : undefined, routes: byName, certs };
}

function compileRoute(
  ref: L4Route['ref'], backends: readonly WeightedBackendIR[], table: RouteTable, clusters: Map<string, L4Cluster>, deps: L4CompileDeps, out: L4CompileResult,
): L4Route {
  const name = `${ref.namespace}/${ref.name}/${ref.ruleIndex}`;
  let signature = '';
  for (const b of backends) signature += `${b.cluster ?? `!${b.invalid ?? ''}`}=${b.weight};`;
  const balancerKey = `${ref.kind}/${name}|${signature}`;
  let balancer = out.balancers.get(balancerKey);
  if (balancer === undefined) {
    const items = backends.map((b) => compileBackend(b, table, clusters));
    balancer = new SmoothWeighted(items, backends.map((b) => b.weight));
    const previous = deps.previousBalancers.get(balancerKey);
    if (previous !== undefined) balancer.adoptState(previous);
    out.balancers.set(balancerKey, balancer);
  }
  return { ref, name, backends: balancer, backendCount: backends.length };
}

function compileBackend(b: WeightedBackendIR, table: RouteTable, clusters: Map<string, L4Cluster>): L4Backend {
  if (b.invalid !== undefined) return { cluster: undefined, invalid: b.invalid };
  const id = b.cluster;
  const ir = id === undefined ? undefined : table.clusters[id];
  if (id === undefined || ir === undefined) return { cluster: undefined, invalid: `unknown cluster ${id ?? '(none)'}` };
  let cluster = clusters.get(id);
  if (cluster === undefined) {
    cluster = new L4Cluster(id, ir.endpoints);
    clusters.set(id, cluster);
  }
  return { cluster, invalid: undefined };
}

function terminateCerts(l: ListenerIR, deps: L4CompileDeps, out: L4CompileResult): L4TerminateCert[] {
  const certs: L4TerminateCert[] = [];
  for (const c of l.tls?.certificates ?? []) {
    const cacheKey = createHash('sha256').update(c.certPem).update('\0').update(c.keyPem).digest('hex');
    let context = deps.contexts.get(cacheKey);
    try {
      context ??= createSecureContext({ cert: c.certPem, key: c.keyPem, ...TERMINATE_TLS_OPTIONS });
    } catch (err) {
      // Never log PEM contents: only the Secret's name and OpenSSL's reason.
      const message = `certificate from Secret ${c.secret} cannot be used: ${(err as Error).message}`;
      deps.logger.error({ listener: l.id }, message);
      out.problems[l.id] ??= { programmed: false, reason: 'InvalidCertificateRef', message };
      continue;
    }
    deps.contexts.set(cacheKey, context);
    out.usedContexts.add(cacheKey);
    let x509: X509Certificate | undefined;
    try {
      x509 = new X509Certificate(c.certPem);
    } catch {
      x509 = undefined;
    }
    certs.push({ context, covers: (name) => x509?.checkHost(name) !== undefined });
  }
  if (certs.length === 0) out.problems[l.id] ??= { programmed: false, reason: 'InvalidCertificateRef', message: 'TLS Terminate listener has no usable certificate' };
  return certs;
}
