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
import { buildPortTls, type TlsContextCache } from './tls.js';
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
  if (https) {
    const result = ctx.deps.tlsCache.contextsFor(l.tls?.certificates ?? []);
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
  return { id: l.id, hostname: l.hostname, vhosts, certs, metricCache: undefined };
}

function compileRoute(r: HttpRouteIR, index: number, listenerId: string, ctx: Ctx): CompiledRoute {
  const name = `${r.ref.namespace}/${r.ref.name}/${r.ref.ruleIndex}`;
  let never = false;
  const regex = (pattern: string, what: string): RegExp | undefined => {
    try {
      return fullMatchRegExp(pattern);
    } catch (err) {
      never = true;
      ctx.deps.logger.error({ route: name, err: (err as Error).message }, `invalid ${what} regular expression; the match is disabled`);
      return undefined;
    }
  };
  const strings = (list: readonly StringMatchIR[], lowerNames: boolean, what: string): CompiledStringMatch[] =>
    list.map((m) => ({
      name: lowerNames ? m.name.toLowerCase() : m.name,
      value: m.value,
      regex: m.type === 'RegularExpression' ? regex(m.value, what) : undefined,
    }));
  const match = r.match;
  const headers = strings(match.headers, true, 'header');
  const query = strings(match.queryParams, false, 'query parameter');
  const pathRegex = match.path.type === 'RegularExpression' ? regex(match.path.value, 'path') : undefined;
  return {
    index,
    ir: r,
    name,
    listenerId,
    method: match.method,
    headers,
    query,
    pathRegex,
    never,
    action: compileAction(r, name, ctx),
    metricCache: undefined,
  };
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

function compileFilters(filters: readonly HttpFilterIR[], ctx: Ctx): {
  ops: RequestOp[];
  responseMods: HeaderModifier[];
  redirect: RedirectIR | undefined;
  cors: ReturnType<typeof compileCors> | undefined;
} {
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
