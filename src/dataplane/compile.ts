import type { ClusterIR, HttpFilterIR, HttpRouteIR, ListenerIR, PortIR, RouteTable, StringMatchIR, WeightedBackendIR } from '../translate/ir.js';
import type { Logger } from '../util/log.js';
import { SmoothWeighted } from './balancer.js';
import type {
  CompiledAction, CompiledBackend, CompiledListener, CompiledPort, CompiledRoute, CompiledStringMatch, CompiledTable, CompiledVHost, RequestOp,
} from './compiled.js';
import { compileCors } from './cors.js';
import { compileHeaderModifier, type HeaderModifier } from './headers.js';
import { HostIndex } from './hostindex.js';
import { fullMatchRegExp, RouteIndex } from './matcher.js';
import type { RedirectIR } from './redirect.js';
import { buildPortTls, compileClientAuth, type TlsContextCache } from './tls.js';
import type { EndpointPolicy, ListenerReport } from './types.js';
import { ClusterRuntime, type UpstreamRegistry } from './upstreams.js';

export interface CompileDeps {
  readonly logger: Logger;
  readonly upstreams: UpstreamRegistry;
  readonly tlsCache: TlsContextCache;
  readonly endpointPolicy: EndpointPolicy;
  /** Balancers of the previous table, reused when a rule's backends did not change. */
  readonly previousBalancers: ReadonlyMap<string, SmoothWeighted<CompiledBackend>>;
}

export interface CompileResult {
  readonly table: CompiledTable;
  /** Listeners that cannot be programmed whatever happens to their port (bad certificate). */
  readonly problems: Record<string, ListenerReport>;
  readonly balancers: Map<string, SmoothWeighted<CompiledBackend>>;
}

export function portKey(p: { address: string; port: number }): string {
  return `${p.address}|${p.port}`;
}

/** Compile a RouteTable for the hot path. Never throws on table content: bad bits are logged and skipped. */
export function compileTable(table: RouteTable, deps: CompileDeps): CompileResult {
  const clusters = new Map<string, ClusterRuntime>();
  const balancers = new Map<string, SmoothWeighted<CompiledBackend>>();
  const problems: Record<string, ListenerReport> = {};
  const ctx: Ctx = { deps, table, clusters, balancers, problems };
  const ports = new Map<string, CompiledPort>();
  for (const p of table.ports) {
    if (p.protocol !== 'HTTP' && p.protocol !== 'HTTPS') continue;
    const key = portKey(p);
    if (ports.has(key)) {
      deps.logger.warn({ port: key }, 'duplicate port in route table; keeping the first');
      continue;
    }
    ports.set(key, compilePort(p, key, ctx));
  }
  return { table: { version: table.version, ports }, problems, balancers };
}

interface Ctx {
  readonly deps: CompileDeps;
  readonly table: RouteTable;
  readonly clusters: Map<string, ClusterRuntime>;
  readonly balancers: Map<string, SmoothWeighted<CompiledBackend>>;
  readonly problems: Record<string, ListenerReport>;
}

function compilePort(p: PortIR, key: string, ctx: Ctx): CompiledPort {
  const listeners = new HostIndex<CompiledListener>();
  const compiled: CompiledListener[] = [];
  const https = p.protocol === 'HTTPS';
  for (const l of p.listeners) {
    if (l.tlsMode === 'Passthrough') continue;
    const cl = compileListener(l, p, https, ctx);
    compiled.push(cl);
    listeners.add(l.hostname, cl);
  }
  return {
    key,
    address: p.address,
    port: p.port,
    protocol: p.protocol as 'HTTP' | 'HTTPS',
    scheme: https ? 'https' : 'http',
    listeners,
    listenerIds: p.listeners.map((l) => l.id),
    tls: https ? buildPortTls(listeners, compiled) : undefined,
    metricCache: undefined,
  };
}

function compileListener(l: ListenerIR, p: PortIR, https: boolean, ctx: Ctx): CompiledListener {
  let certs: CompiledListener['certs'] = [];
  const clientAuth = https ? compileClientAuth(l.tls?.clientValidation) : undefined;
  if (https) {
    const validation = clientAuth === undefined ? undefined : { caPems: l.tls!.clientValidation!.caPems, auth: clientAuth };
    const result = ctx.deps.tlsCache.contextsFor(l.tls?.certificates ?? [], validation);
    certs = result.certs;
    if (result.error !== undefined || certs.length === 0) {
      const message = result.error ?? 'HTTPS listener has no usable certificate';
      ctx.problems[l.id] = { programmed: false, reason: 'InvalidCertificateRef', message };
      ctx.deps.logger.error({ listener: l.id, port: p.port }, message);
    }
  }
  const vhosts = new HostIndex<CompiledVHost>();
  for (const vh of l.virtualHosts) {
    const routes = new RouteIndex();
    vh.routes.forEach((r, i) => routes.add(compileRoute(r, i, l.id, ctx)));
    vhosts.add(vh.hostname, { hostname: vh.hostname, routes });
  }
  return { id: l.id, hostname: l.hostname, vhosts, certs, clientAuth, metricCache: undefined };
}

function compileRoute(r: HttpRouteIR, index: number, listenerId: string, ctx: Ctx): CompiledRoute {
  const name = `${r.ref.namespace}/${r.ref.name}/${r.ref.ruleIndex}`;
  const match = r.match;
  const state = { never: false };
  const headers = match.headers.length === 0 ? NO_STRING_MATCHES : compileStrings(match.headers, true, 'header', name, state, ctx);
  const query = match.queryParams.length === 0 ? NO_STRING_MATCHES : compileStrings(match.queryParams, false, 'query parameter', name, state, ctx);
  const pathRegex = match.path.type === 'RegularExpression' ? compileRegex(match.path.value, 'path', name, state, ctx) : undefined;
  return {
    index,
    ir: r,
    name,
    listenerId,
    method: match.method,
    headers,
    query,
    pathRegex,
    never: state.never,
    action: compileAction(r, name, ctx),
    metricCache: undefined,
  };
}

const NO_STRING_MATCHES: readonly CompiledStringMatch[] = [];

function compileRegex(pattern: string, what: string, route: string, state: { never: boolean }, ctx: Ctx): RegExp | undefined {
  try {
    return fullMatchRegExp(pattern);
  } catch (err) {
    state.never = true;
    ctx.deps.logger.error({ route, err: (err as Error).message }, `invalid ${what} regular expression; the match is disabled`);
    return undefined;
  }
}

function compileStrings(
  list: readonly StringMatchIR[], lowerNames: boolean, what: string, route: string, state: { never: boolean }, ctx: Ctx,
): CompiledStringMatch[] {
  return list.map((m) => ({
    name: lowerNames ? m.name.toLowerCase() : m.name,
    value: m.value,
    regex: m.type === 'RegularExpression' ? compileRegex(m.value, what, route, state, ctx) : undefined,
  }));
}

function compileAction(r: HttpRouteIR, name: string, ctx: Ctx): CompiledAction {
  const a = r.action;
  const { ops, responseMods, redirect, cors } = compileFilters(a.filters, ctx);
  const backends = a.backends.map((b) => compileBackend(b, ctx));
  const balancerKey = `${r.ref.kind}/${name}|${backendSignature(a.backends)}`;
  let balancer = ctx.balancers.get(balancerKey);
  if (balancer === undefined) {
    balancer = new SmoothWeighted(backends, a.backends.map((b) => b.weight));
    const previous = ctx.deps.previousBalancers.get(balancerKey);
    if (previous !== undefined) balancer.adoptState(previous);
    ctx.balancers.set(balancerKey, balancer);
  }
  return {
    direct: a.directResponse ? { status: a.directResponse.status, body: a.directResponse.body ?? '' } : undefined,
    requestOps: ops,
    responseMods,
    redirect,
    cors,
    backends: balancer,
    backendCount: a.backends.length,
    requestTimeoutMs: positive(a.timeouts?.requestMs),
    backendTimeoutMs: positive(a.timeouts?.backendRequestMs),
    retry: a.retry && a.retry.attempts > 0
      ? { attempts: a.retry.attempts, codes: new Set(a.retry.codes), backoffMs: a.retry.backoffMs ?? 0 }
      : undefined,
  };
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined;
}

function backendSignature(backends: readonly WeightedBackendIR[]): string {
  let s = '';
  for (const b of backends) s += `${b.cluster ?? `!${b.invalid ?? ''}`}=${b.weight};`;
  return s;
}

function compileBackend(b: WeightedBackendIR, ctx: Ctx): CompiledBackend {
  const { ops, responseMods } = compileFilters(b.filters, ctx);
  let cluster: ClusterRuntime | undefined;
  let invalid = b.invalid;
  if (invalid === undefined) {
    cluster = b.cluster === undefined ? undefined : clusterRuntime(b.cluster, ctx);
    if (cluster === undefined) invalid = `unknown cluster ${b.cluster ?? '(none)'}`;
  }
  return { cluster, invalid, requestOps: ops, responseMods };
}

function clusterRuntime(id: string, ctx: Ctx): ClusterRuntime | undefined {
  let rt = ctx.clusters.get(id);
  if (rt !== undefined) return rt;
  const ir: ClusterIR | undefined = ctx.table.clusters[id];
  if (ir === undefined) return undefined;
  const endpoints = ir.protocol === 'http1' || ir.protocol === 'h2c' ? ir.endpoints.map((ep) => ctx.deps.upstreams.get(ir, ep)) : [];
  rt = new ClusterRuntime(id, ir.protocol, endpoints, ctx.deps.endpointPolicy);
  ctx.clusters.set(id, rt);
  return rt;
}

interface CompiledFilters {
  readonly ops: readonly RequestOp[];
  readonly responseMods: readonly HeaderModifier[];
  readonly redirect: RedirectIR | undefined;
  readonly cors: ReturnType<typeof compileCors> | undefined;
}

const NO_FILTERS: CompiledFilters = { ops: [], responseMods: [], redirect: undefined, cors: undefined };

function compileFilters(filters: readonly HttpFilterIR[], ctx: Ctx): CompiledFilters {
  if (filters.length === 0) return NO_FILTERS;
  const ops: RequestOp[] = [];
  const responseMods: HeaderModifier[] = [];
  let redirect: RedirectIR | undefined;
  let cors: ReturnType<typeof compileCors> | undefined;
  for (const f of filters) {
    switch (f.type) {
      case 'RequestHeaderModifier':
        ops.push({ kind: 'headers', mod: compileHeaderModifier(f) });
        break;
      case 'ResponseHeaderModifier':
        responseMods.push(compileHeaderModifier(f));
        break;
      case 'RequestRedirect':
        redirect ??= f;
        break;
      case 'URLRewrite':
        ops.push({ kind: 'rewrite', hostname: f.hostname, path: f.path });
        break;
      case 'RequestMirror':
        if (f.invalid === undefined && f.cluster !== undefined && f.fraction > 0) {
          ops.push({ kind: 'mirror', cluster: clusterRuntime(f.cluster, ctx), fraction: Math.min(1, f.fraction) });
        }
        break;
      case 'CORS':
        cors ??= compileCors(f);
        break;
    }
  }
  return { ops, responseMods, redirect, cors };
}
