import type { GatewayClass } from '../model/objects.js';
import type { Snapshot } from '../store/snapshot.js';
import { deepFreeze } from '../store/build.js';
import { attachRoute, effectiveHostnames, parentTargets, type ParentAttachment } from './attachment.js';
import { metaOf, TranslateContext } from './context.js';
import { Reason } from './conditions.js';
import { checkRedirectLoops } from './diagnostics.js';
import { SUPPORTED_FEATURES } from './features.js';
import { buildGateways } from './gateways.js';
import { translateGrpcRoute } from './grpcroute.js';
import { translateHttpRoute, type RouteTranslation } from './httproute.js';
import { resolveKindConflicts } from './kindconflicts.js';
import { placeL4Routes } from './l4routes.js';
import { byName } from './order.js';
import { gatewayClassStatus, gatewayStatus, listenerSetStatus, routeAccepted, routeStatus } from './statuses.js';
import type { ObjectStatus, TranslateOptions, TranslateResult } from './status.js';
import { buildTable } from './table.js';
import type { ListenerState, Problem } from './types.js';

export { SUPPORTED_FEATURES } from './features.js';
export type { TranslateOptions, TranslateResult } from './status.js';

/** A route of an HTTP-like kind, translated and attached (before cross-kind conflicts are settled). */
export interface PlacedRoute {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly t: RouteTranslation;
  readonly parents: ParentAttachment[];
}

/**
 * The pure translator: Gateway API objects in, route table plus the status
 * of every object we own plus diagnostics out. No clock, no randomness, no
 * I/O; the same snapshot always gives the same (deep-frozen) result.
 */
export function translate(snapshot: Snapshot, options: TranslateOptions): TranslateResult {
  const ctx = new TranslateContext(snapshot, options);
  const statuses: ObjectStatus[] = [];

  const ourClasses = new Map<string, GatewayClass>();
  for (const cls of byName(snapshot.gatewayClasses)) {
    if (cls.spec?.controllerName !== options.controllerName) continue;
    const m = metaOf(cls);
    ourClasses.set(m.name, cls);
    statuses.push(gatewayClassStatus(cls, m.generation, classParametersProblem(cls, ctx), SUPPORTED_FEATURES));
  }

  const gateways = buildGateways(ctx, ourClasses);
  const targets = parentTargets(gateways);

  const placed: PlacedRoute[] = [];
  const place = (kind: PlacedRoute['kind'], t: RouteTranslation, parentRefs: Parameters<typeof attachRoute>[1]): void => {
    if (parentRefs.length === 0) {
      ctx.warn({ object: { kind, namespace: t.namespace, name: t.name }, field: 'spec.parentRefs', code: 'NoParentRefs', message: 'the route has no parentRefs, so no Gateway serves it' });
    }
    const parents = attachRoute({ kind, namespace: t.namespace, name: t.name, hostnames: t.hostnames }, parentRefs, targets, ctx);
    if (parents.length > 0) placed.push({ kind, t, parents });
  };
  for (const route of byName(snapshot.httpRoutes)) place('HTTPRoute', translateHttpRoute(route, ctx), route.spec?.parentRefs ?? []);
  for (const route of byName(snapshot.grpcRoutes)) place('GRPCRoute', translateGrpcRoute(route, ctx), route.spec?.parentRefs ?? []);
  resolveKindConflicts(placed);

  const routeStatuses: ObjectStatus[] = [];
  for (const { kind, t, parents } of placed) {
    const input = { kind, ...t };
    const attached = acceptedListeners(parents, (p) => routeAccepted(input, p));
    for (const l of attached) {
      l.attachedRoutes.add(`${kind}/${t.namespace}/${t.name}`);
      const gateway = { namespace: l.gateway.namespace, name: l.gateway.name };
      ctx.backendTLS.noteUse(t.entries, gateway);
      const entries = t.entries.map((ir) => ctx.backendTLS.withClientCertificate(ir, gateway, l.gateway.backendClientCertificate, ctx.clusters));
      for (const hostname of effectiveHostnames(l.hostname, t.hostnames)) {
        for (const ir of entries) l.httpEntries.push({ hostname, created: t.created, ir });
      }
    }
    if (kind === 'HTTPRoute') checkRedirectLoops({ kind, namespace: t.namespace, name: t.name }, t.entries, attached, ctx);
    routeStatuses.push(routeStatus(input, parents, options.controllerName));
  }
  routeStatuses.push(...placeL4Routes(targets, ctx));

  for (const g of gateways) {
    statuses.push(gatewayStatus(g));
    for (const ls of g.listenerSets) statuses.push(listenerSetStatus(ls));
  }
  statuses.push(...routeStatuses);
  statuses.push(...ctx.backendTLS.statuses(options.controllerName));
  const table = buildTable(gateways, ctx);
  return deepFreeze({ table, statuses, diagnostics: ctx.diagnostics });
}

/** Distinct listeners of the parents that accept the route, in parent order. */
function acceptedListeners(parents: readonly ParentAttachment[], accepted: (p: ParentAttachment) => boolean): ListenerState[] {
  const out: ListenerState[] = [];
  for (const p of parents) {
    if (!accepted(p)) continue;
    for (const l of p.listeners) if (!out.includes(l)) out.push(l);
  }
  return out;
}

/** Sluice takes no GatewayClass parameters; a reference to anything but an existing ConfigMap is invalid. */
function classParametersProblem(cls: GatewayClass, ctx: TranslateContext): Problem | undefined {
  const ref = cls.spec?.parametersRef;
  if (ref === undefined) return undefined;
  if ((ref.group ?? '') !== '' || ref.kind !== 'ConfigMap') {
    return { reason: Reason.InvalidParameters, message: `parametersRef: kind ${ref.group ? `${ref.group}/` : ''}${ref.kind} is not supported` };
  }
  const ns = ref.namespace ?? 'default';
  const found = ctx.snapshot.configMaps.some((c) => c.metadata?.namespace === ns && c.metadata?.name === ref.name);
  return found ? undefined : { reason: Reason.InvalidParameters, message: `parametersRef: ConfigMap ${ns}/${ref.name} not found` };
}
