import type { BackendTLSPolicy } from '../model/objects.js';
import { GATEWAY_GROUP } from '../model/objects.js';
import type { Snapshot } from '../store/snapshot.js';
import { resolveCARef, type CARef } from './ca-bundle.js';
import { condition, Reason } from './conditions.js';
import { metaOf, type TranslateContext } from './context.js';
import type { ClusterIR, GatewayRef, HttpFilterIR, HttpRouteIR } from './ir.js';
import { byName } from './order.js';
import type { Condition, ObjectStatus } from './status.js';
import type { Problem } from './types.js';

export type ClusterTLS = NonNullable<ClusterIR['tls']>;

/** BackendTLSPolicy condition reasons (Go API constants, as strings). */
export const PolicyReason = {
  Accepted: 'Accepted',
  Conflicted: 'Conflicted',
  Invalid: 'Invalid',
  NoValidCACertificate: 'NoValidCACertificate',
  InvalidCACertificateRef: 'InvalidCACertificateRef',
  InvalidKind: 'InvalidKind',
} as const;

/** One BackendTLSPolicy, validated. */
interface PolicyState {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number | undefined;
  readonly created: number | undefined;
  /** Why Accepted is False (besides conflicts): NoValidCACertificate, Invalid. */
  readonly acceptProblem?: Problem;
  /** Why ResolvedRefs is False: InvalidKind, InvalidCACertificateRef. */
  readonly refProblem?: Problem;
  /** Set when an older policy targets the same Service (port). */
  conflicted?: Problem;
  /** Upstream TLS settings; only meaningful when the policy is usable (no problem at all). */
  readonly tls: ClusterTLS;
  /** Gateways whose routes send traffic to a Service port this policy targets, by "ns/name". */
  readonly ancestors: Map<string, GatewayRef>;
  /** "ns/service#section" for each targetRef ('' section = the whole Service). */
  readonly targets: readonly string[];
}

/** What applies to one Service port: the policy's TLS settings, or `unusable` when connections must fail. */
export type PortTLS = { readonly policy: { readonly namespace: string; readonly name: string } } & (
  | { readonly tls: ClusterTLS; readonly unusable?: undefined }
  | { readonly unusable: string; readonly tls?: undefined }
);

/**
 * BackendTLSPolicy evaluation for one translate() call: validation of each
 * policy (CA references, well-known CAs), conflict resolution (per Service
 * and per Service port, the oldest policy wins, then namespace/name), which
 * policy applies to a Service port (one naming the port's sectionName beats
 * one for the whole Service), and the ancestor statuses: every Gateway whose
 * accepted routes send traffic to a targeted Service port.
 */
export class BackendTLSPolicies {
  readonly #policies: PolicyState[] = [];
  /** Winner per target key. */
  readonly #winners = new Map<string, PolicyState>();
  /** Every policy per target key (winners and conflicted ones: all get ancestors). */
  readonly #byTarget = new Map<string, PolicyState[]>();
  /** Service port of each cluster, for ancestors: cluster id -> "ns/service#portName". */
  readonly #clusterPorts = new Map<string, { namespace: string; service: string; portName: string }>();
  /** Per-Gateway variants of route entries (client certificates), memoised so virtual hosts dedupe by identity. */
  readonly #variants = new WeakMap<HttpRouteIR, Map<string, HttpRouteIR>>();

  constructor(snapshot: Snapshot, ctx: TranslateContext) {
    for (const p of byName(snapshot.backendTLSPolicies)) this.#policies.push(evaluate(p, ctx));
    const older = (a: PolicyState, b: PolicyState): boolean => {
      const ca = a.created ?? Number.MAX_SAFE_INTEGER;
      const cb = b.created ?? Number.MAX_SAFE_INTEGER;
      if (ca !== cb) return ca < cb;
      return `${a.namespace}/${a.name}` < `${b.namespace}/${b.name}`;
    };
    for (const p of this.#policies) {
      for (const t of p.targets) {
        const all = this.#byTarget.get(t);
        if (all) all.push(p);
        else this.#byTarget.set(t, [p]);
        const current = this.#winners.get(t);
        if (current === undefined || older(p, current)) this.#winners.set(t, p);
      }
    }
    for (const p of this.#policies) {
      for (const t of p.targets) {
        const winner = this.#winners.get(t)!;
        if (winner !== p && p.conflicted === undefined) {
          p.conflicted = { reason: PolicyReason.Conflicted, message: `BackendTLSPolicy ${winner.namespace}/${winner.name} is older and targets the same ${describeTarget(t)}` };
        }
      }
    }
  }

  /**
   * The policy that applies to a Service port: the winner for its
   * sectionName, else the winner for the whole Service. Undefined when none.
   */
  forServicePort(namespace: string, service: string, portName: string): PortTLS | undefined {
    const p = (portName !== '' ? this.#winners.get(targetKey(namespace, service, portName)) : undefined)
      ?? this.#winners.get(targetKey(namespace, service, ''));
    if (p === undefined) return undefined;
    const policy = { namespace: p.namespace, name: p.name };
    const problem = p.acceptProblem ?? p.refProblem;
    return problem ? { unusable: problem.message, policy } : { tls: p.tls, policy };
  }

  /** Remember which Service port a cluster sends to (for ancestors). */
  registerCluster(id: string, namespace: string, service: string, portName: string): void {
    if (!this.#clusterPorts.has(id)) this.#clusterPorts.set(id, { namespace, service, portName });
  }

  /** Route entries accepted by a Gateway use these clusters: every policy targeting their Service ports gets the Gateway as ancestor. */
  noteUse(entries: readonly HttpRouteIR[], gateway: GatewayRef): void {
    if (this.#policies.length === 0) return;
    for (const id of clustersOf(entries)) {
      const port = this.#clusterPorts.get(id);
      if (port === undefined) continue;
      const keys = [targetKey(port.namespace, port.service, ''), ...(port.portName !== '' ? [targetKey(port.namespace, port.service, port.portName)] : [])];
      for (const key of keys) {
        for (const p of this.#byTarget.get(key) ?? []) p.ancestors.set(`${gateway.namespace}/${gateway.name}`, gateway);
      }
    }
  }

  /**
   * The route entry as a Gateway with a backend client certificate sends it:
   * every backend (and mirror) cluster that originates TLS is replaced by a
   * per-Gateway copy that presents the certificate. Entries without such a
   * cluster come back unchanged.
   */
  withClientCertificate(
    ir: HttpRouteIR,
    gateway: GatewayRef,
    certificate: NonNullable<ClusterTLS['clientCertificate']> | undefined,
    clusters: Map<string, ClusterIR>,
  ): HttpRouteIR {
    if (certificate === undefined) return ir;
    const gwKey = `${gateway.namespace}/${gateway.name}`;
    let perGateway = this.#variants.get(ir);
    const memo = perGateway?.get(gwKey);
    if (memo !== undefined) return memo;
    let changed = false;
    const variantOf = (id: string | undefined): string | undefined => {
      if (id === undefined) return undefined;
      const base = clusters.get(id);
      if (base?.tls === undefined) return id;
      const vid = `${id}@${gwKey}`;
      if (!clusters.has(vid)) clusters.set(vid, { ...base, id: vid, tls: { ...base.tls, clientCertificate: certificate } });
      const port = this.#clusterPorts.get(id);
      if (port !== undefined) this.registerCluster(vid, port.namespace, port.service, port.portName);
      changed = true;
      return vid;
    };
    const mapFilters = (filters: readonly HttpFilterIR[]): HttpFilterIR[] =>
      filters.map((f) => (f.type === 'RequestMirror' && f.cluster !== undefined ? { ...f, cluster: variantOf(f.cluster)! } : f));
    const action = {
      ...ir.action,
      filters: mapFilters(ir.action.filters),
      backends: ir.action.backends.map((b) => ({ ...b, ...(b.cluster !== undefined ? { cluster: variantOf(b.cluster) } : {}), filters: mapFilters(b.filters) })),
    };
    const out = changed ? { ...ir, action } : ir;
    if (perGateway === undefined) {
      perGateway = new Map();
      this.#variants.set(ir, perGateway);
    }
    perGateway.set(gwKey, out);
    return out;
  }

  /** One status per policy: an ancestor entry per Gateway that uses a targeted Service port. */
  statuses(controllerName: string): ObjectStatus[] {
    return this.#policies.map((p) => {
      const gen = p.generation;
      const ancestors = [...p.ancestors.values()]
        .sort((a, b) => cmp(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`))
        .map((g) => ({
          ancestorRef: { group: GATEWAY_GROUP, kind: 'Gateway', namespace: g.namespace, name: g.name },
          controllerName,
          conditions: policyConditions(p, gen),
        }));
      return {
        kind: 'BackendTLSPolicy',
        apiVersion: `${GATEWAY_GROUP}/v1`,
        namespace: p.namespace,
        name: p.name,
        ...(gen !== undefined ? { generation: gen } : {}),
        status: { ancestors },
      };
    });
  }
}

function policyConditions(p: PolicyState, gen: number | undefined): Condition[] {
  const accept = p.conflicted ?? p.acceptProblem;
  return [
    accept
      ? condition('Accepted', false, accept.reason, accept.message, gen)
      : condition('Accepted', true, PolicyReason.Accepted, 'the policy is accepted', gen),
    p.refProblem
      ? condition('ResolvedRefs', false, p.refProblem.reason, p.refProblem.message, gen)
      : condition('ResolvedRefs', true, Reason.ResolvedRefs, 'all references are resolved', gen),
  ];
}

function evaluate(policy: BackendTLSPolicy, ctx: TranslateContext): PolicyState {
  const m = metaOf(policy);
  const validation = policy.spec?.validation;
  const targets: string[] = [];
  for (const t of policy.spec?.targetRefs ?? []) {
    // Only core Services can be targets; other kinds never match a backend.
    if ((t.group ?? '') !== '' || t.kind !== 'Service') continue;
    const key = targetKey(m.namespace, t.name, t.sectionName ?? '');
    if (!targets.includes(key)) targets.push(key);
  }
  const ca = resolveCAs(validation?.caCertificateRefs ?? [], m.namespace, ctx);
  let acceptProblem: Problem | undefined;
  const wellKnown = validation?.wellKnownCACertificates;
  const refs = validation?.caCertificateRefs ?? [];
  if (wellKnown !== undefined && wellKnown !== '' && wellKnown !== 'System') {
    acceptProblem = { reason: PolicyReason.Invalid, message: `wellKnownCACertificates ${wellKnown} is not supported; use System` };
  } else if (refs.length > 0 && ca.pems.length === 0) {
    acceptProblem = { reason: PolicyReason.NoValidCACertificate, message: `no caCertificateRefs entry is usable: ${ca.problem?.message ?? 'none given'}` };
  } else if (refs.length === 0 && wellKnown !== 'System') {
    acceptProblem = { reason: PolicyReason.NoValidCACertificate, message: 'neither caCertificateRefs nor wellKnownCACertificates is set' };
  }
  const sans = (validation?.subjectAltNames ?? [])
    .map((s) => (s.type === 'URI' ? s.uri : s.hostname?.toLowerCase()))
    .filter((s): s is string => typeof s === 'string' && s !== '');
  const tls: ClusterTLS = {
    sni: validation?.hostname ?? '',
    ...(ca.pems.length > 0 ? { caPem: ca.pems.join('\n') } : {}),
    ...(refs.length === 0 && wellKnown === 'System' ? { wellKnownCA: true } : {}),
    ...(sans.length > 0 ? { subjectAltNames: sans } : {}),
  };
  return {
    namespace: m.namespace,
    name: m.name,
    generation: m.generation,
    created: m.created,
    ...(acceptProblem ? { acceptProblem } : {}),
    ...(ca.problem ? { refProblem: ca.problem } : {}),
    tls,
    ancestors: new Map(),
    targets,
  };
}

/** PEM bundles of the usable caCertificateRefs (ConfigMaps in the policy's namespace), and the first problem among the others. */
function resolveCAs(refs: readonly CARef[], namespace: string, ctx: TranslateContext): { pems: string[]; problem?: Problem } {
  const pems: string[] = [];
  let problem: Problem | undefined;
  refs.forEach((ref, i) => {
    const resolved = resolveCARef(ref, { kind: 'BackendTLSPolicy', namespace }, ctx);
    if ('fault' in resolved) {
      const reason = resolved.fault === 'kind' ? PolicyReason.InvalidKind : PolicyReason.InvalidCACertificateRef;
      problem ??= { reason, message: `validation.caCertificateRefs[${i}]: ${resolved.message}` };
      return;
    }
    pems.push(resolved.pem);
  });
  return problem ? { pems, problem } : { pems };
}

function targetKey(namespace: string, service: string, section: string): string {
  return `${namespace}/${service}#${section}`;
}

function describeTarget(key: string): string {
  const [svc, section] = key.split('#');
  return section ? `Service ${svc} port ${section}` : `Service ${svc}`;
}

/** Cluster ids an entry sends to (backends and mirrors). */
function clustersOf(entries: readonly HttpRouteIR[]): Set<string> {
  const out = new Set<string>();
  const fromFilters = (filters: readonly HttpFilterIR[]): void => {
    for (const f of filters) if (f.type === 'RequestMirror' && f.cluster !== undefined) out.add(f.cluster);
  };
  for (const e of entries) {
    fromFilters(e.action.filters);
    for (const b of e.action.backends) {
      if (b.cluster !== undefined) out.add(b.cluster);
      fromFilters(b.filters);
    }
  }
  return out;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
