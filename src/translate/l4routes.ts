import type { TCPRoute, TLSRoute, UDPRoute } from '../model/objects.js';
import { attachRoute, effectiveHostnames, type ParentTargets } from './attachment.js';
import { resolveBackendRef } from './backends.js';
import { Reason } from './conditions.js';
import type { TranslateContext } from './context.js';
import { metaOf } from './context.js';
import { normalizeHostname } from './hostnames.js';
import type { L4RouteIR, RouteRef, WeightedBackendIR } from './ir.js';
import { byName } from './order.js';
import type { ObjectStatus } from './status.js';
import { routeAccepted, routeStatus, type RouteStatusInput } from './statuses.js';
import type { ListenerState, ParentReference, Problem } from './types.js';

export type L4RouteKind = 'TLSRoute' | 'TCPRoute' | 'UDPRoute';
type L4Route = TLSRoute | TCPRoute | UDPRoute;

/** A TLSRoute, TCPRoute or UDPRoute translated independently of where it attaches. */
export interface L4RouteTranslation extends RouteStatusInput {
  readonly kind: L4RouteKind;
  readonly created: number | undefined;
  /** Normalised route hostnames (TLSRoute only); empty = any. */
  readonly hostnames: readonly string[];
  /** The rule that serves traffic: L4 routes have no matches, so only the first rule can. */
  readonly ref: RouteRef;
  readonly backends: readonly WeightedBackendIR[];
}

/**
 * TLSRoute, TCPRoute and UDPRoute: translate each, attach it through its
 * parentRefs with the same rules as HTTP routes (kinds, namespaces,
 * hostnames for TLSRoute), put it on the listeners that accept it (oldest
 * route first: with no matches, the oldest route of a TCP/UDP listener gets
 * the traffic, and the oldest wins a TLS hostname) and return the statuses.
 */
export function placeL4Routes(targets: ParentTargets, ctx: TranslateContext): ObjectStatus[] {
  const statuses: ObjectStatus[] = [];
  const touched = new Set<ListenerState>();
  // The IR carries no creation time: keep it on the side for the age order.
  const created = new Map<L4RouteIR, number | undefined>();
  const all: [L4RouteKind, readonly L4Route[]][] = [
    ['TLSRoute', ctx.snapshot.tlsRoutes],
    ['TCPRoute', ctx.snapshot.tcpRoutes],
    ['UDPRoute', ctx.snapshot.udpRoutes],
  ];
  for (const [kind, routes] of all) {
    for (const route of byName(routes)) {
      const t = translateL4Route(kind, route, ctx);
      const parentRefs = (route.spec?.parentRefs ?? []) as readonly ParentReference[];
      if (parentRefs.length === 0) {
        ctx.warn({ object: { kind, namespace: t.namespace, name: t.name }, field: 'spec.parentRefs', code: 'NoParentRefs', message: 'the route has no parentRefs, so no Gateway serves it' });
      }
      const parents = attachRoute({ kind, namespace: t.namespace, name: t.name, hostnames: t.hostnames }, parentRefs, targets, ctx);
      if (parents.length === 0) continue;
      const placed = new Set<ListenerState>();
      for (const p of parents) {
        if (!routeAccepted(t, p)) continue;
        for (const l of p.listeners) {
          if (placed.has(l)) continue;
          placed.add(l);
          const ir = l4RouteOn(l, t);
          l.attachedRoutes.add(`${kind}/${t.namespace}/${t.name}`);
          l.l4Routes.push(ir);
          created.set(ir, t.created);
          touched.add(l);
        }
      }
      statuses.push(routeStatus(t, parents, ctx.options.controllerName));
    }
  }
  const compareAge = (a: L4RouteIR, b: L4RouteIR): number => {
    const ca = created.get(a) ?? Number.POSITIVE_INFINITY;
    const cb = created.get(b) ?? Number.POSITIVE_INFINITY;
    if (ca !== cb) return ca < cb ? -1 : 1;
    const ka = `${a.ref.namespace}/${a.ref.name}`;
    const kb = `${b.ref.namespace}/${b.ref.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
  for (const l of touched) l.l4Routes.sort(compareAge);
  return statuses;
}

/** The route's IR on one listener: TLS hostnames narrowed to the listener's ("*" = any becomes []). */
function l4RouteOn(l: ListenerState, t: L4RouteTranslation): L4RouteIR {
  let hostnames: string[] = [];
  if (t.kind === 'TLSRoute') {
    const effective = effectiveHostnames(l.hostname, t.hostnames);
    hostnames = effective.includes('*') ? [] : effective;
  }
  return { ref: t.ref, hostnames, backends: t.backends };
}

export function translateL4Route(kind: L4RouteKind, route: L4Route, ctx: TranslateContext): L4RouteTranslation {
  const m = metaOf(route);
  const from = { kind, namespace: m.namespace };
  const rules = route.spec?.rules && route.spec.rules.length > 0 ? route.spec.rules : [{}];
  const ruleProblems: Problem[] = [];
  let refProblem: Problem | undefined;
  for (let ri = 1; ri < rules.length; ri++) {
    ruleProblems.push({ reason: Reason.UnsupportedValue, message: `spec.rules[${ri}]: only the first rule of a ${kind} can receive traffic (Gateway API v1 allows one rule)` });
  }
  const rule = rules[0] as { name?: string; backendRefs?: readonly { group?: string; kind?: string; name: string; namespace?: string; port?: number; weight?: number }[] };
  const backends: WeightedBackendIR[] = [];
  (rule.backendRefs ?? []).forEach((b, bi) => {
    const res = resolveBackendRef(b, from, ctx, { l4: kind === 'UDPRoute' ? 'udp' : 'tcp' });
    const weight = b.weight ?? 1;
    if (res.problem) {
      refProblem ??= { reason: res.problem.reason, message: `spec.rules[0].backendRefs[${bi}]: ${res.problem.message}` };
      backends.push({ weight, invalid: res.problem.reason, filters: [] });
    } else {
      backends.push({ weight, cluster: res.cluster, filters: [] });
    }
  });
  const hostnames = kind === 'TLSRoute' ? [...new Set(((route as TLSRoute).spec?.hostnames ?? []).map(normalizeHostname))] : [];
  return {
    kind,
    namespace: m.namespace,
    name: m.name,
    generation: m.generation,
    created: m.created,
    hostnames,
    ref: { kind, namespace: m.namespace, name: m.name, ruleIndex: 0, matchIndex: -1, ...(rule.name !== undefined ? { ruleName: rule.name } : {}) },
    backends,
    ...(refProblem ? { refProblem } : {}),
    ruleProblems,
    allRulesInvalid: false,
  };
}
