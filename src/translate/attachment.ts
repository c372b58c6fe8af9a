import { GATEWAY_GROUP } from '../model/objects.js';
import type { TranslateContext } from './context.js';
import { Reason } from './conditions.js';
import { intersectHostnames } from './hostnames.js';
import { listenerSetProblem } from './listeners.js';
import type { GatewayState, ListenerSetState, ListenerState, ParentReference, Problem } from './types.js';

export interface RouteIdentity {
  readonly kind: 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'UDPRoute';
  readonly namespace: string;
  readonly name: string;
  /** Normalised route hostnames; empty = any. */
  readonly hostnames: readonly string[];
}

export interface ParentAttachment {
  /** The parentRef as the status reports it (API defaults applied). */
  readonly parentRef: Readonly<Record<string, unknown>>;
  readonly gateway: GatewayState;
  /** Listeners that accept the route through this parentRef. */
  readonly listeners: readonly ListenerState[];
  /** Why the route is not Accepted by this parent (undefined when it is). */
  readonly problem?: Problem;
}

/** The parents a route can name: our Gateways and the ListenerSets attached to them, by "namespace/name". */
export interface ParentTargets {
  readonly gateways: ReadonlyMap<string, GatewayState>;
  readonly listenerSets: ReadonlyMap<string, ListenerSetState>;
}

export function parentTargets(gateways: readonly GatewayState[]): ParentTargets {
  const listenerSets = new Map<string, ListenerSetState>();
  for (const g of gateways) for (const ls of g.listenerSets) listenerSets.set(`${ls.namespace}/${ls.name}`, ls);
  return { gateways: new Map(gateways.map((g) => [`${g.namespace}/${g.name}`, g])), listenerSets };
}

/**
 * Resolve a route's parentRefs against our Gateways and their ListenerSets. A
 * Gateway parentRef reaches only the Gateway's own listeners, a ListenerSet
 * parentRef only that ListenerSet's (GEP-1713). ParentRefs to objects that are
 * not ours get no status entry (another controller owns them); one naming an
 * object that does not exist gets a diagnostic.
 */
export function attachRoute(
  route: RouteIdentity,
  parentRefs: readonly ParentReference[],
  targets: ParentTargets,
  ctx: TranslateContext,
): ParentAttachment[] {
  const out: ParentAttachment[] = [];
  const seen = new Set<string>();
  parentRefs.forEach((p, i) => {
    const group = p.group ?? GATEWAY_GROUP;
    const kind = p.kind ?? 'Gateway';
    if (group !== GATEWAY_GROUP || (kind !== 'Gateway' && kind !== 'ListenerSet')) return;
    const namespace = p.namespace ?? route.namespace;
    const gateway = kind === 'Gateway' ? targets.gateways.get(`${namespace}/${p.name}`) : undefined;
    const listenerSet = kind === 'ListenerSet' ? targets.listenerSets.get(`${namespace}/${p.name}`) : undefined;
    if (gateway === undefined && listenerSet === undefined) {
      const all: readonly { metadata?: { namespace?: string; name?: string } }[] = kind === 'Gateway' ? ctx.snapshot.gateways : ctx.snapshot.listenerSets;
      const exists = all.some((g) => g.metadata?.namespace === namespace && g.metadata?.name === p.name);
      if (!exists) {
        ctx.warn({
          object: { kind: route.kind, namespace: route.namespace, name: route.name },
          field: `spec.parentRefs[${i}]`,
          code: 'ParentNotFound',
          message: `${kind} ${namespace}/${p.name} does not exist; the route is not attached to it`,
        });
      }
      return;
    }
    const parentRef: Record<string, unknown> = { group, kind };
    if (p.namespace !== undefined) parentRef.namespace = p.namespace;
    parentRef.name = p.name;
    if (p.sectionName !== undefined) parentRef.sectionName = p.sectionName;
    if (p.port !== undefined) parentRef.port = p.port;
    const key = JSON.stringify([kind, namespace, p.name, p.sectionName ?? '', p.port ?? 0]);
    if (seen.has(key)) return;
    seen.add(key);
    if (listenerSet) out.push(attachToListenerSet(route, p, parentRef, listenerSet));
    else if (gateway) out.push(attachToListeners(route, p, parentRef, gateway, gateway.listeners, `Gateway ${namespace}/${p.name}`));
  });
  return out;
}

function attachToListenerSet(route: RouteIdentity, p: ParentReference, parentRef: Record<string, unknown>, ls: ListenerSetState): ParentAttachment {
  const problem = listenerSetProblem(ls);
  if (problem) {
    return { parentRef, gateway: ls.gateway, listeners: [], problem: { reason: Reason.NoMatchingParent, message: `ListenerSet ${ls.namespace}/${ls.name} is not accepted: ${problem.message}` } };
  }
  return attachToListeners(route, p, parentRef, ls.gateway, ls.listeners, `ListenerSet ${ls.namespace}/${ls.name}`);
}

function attachToListeners(
  route: RouteIdentity,
  p: ParentReference,
  parentRef: Record<string, unknown>,
  gateway: GatewayState,
  listeners: readonly ListenerState[],
  parentName: string,
): ParentAttachment {
  const candidates = listeners.filter((l) => (p.sectionName === undefined || l.name === p.sectionName) && (p.port === undefined || l.port === p.port));
  if (candidates.length === 0) {
    const what = [p.sectionName !== undefined ? `named ${p.sectionName}` : '', p.port !== undefined ? `on port ${p.port}` : ''].filter(Boolean).join(' and ');
    return { parentRef, gateway, listeners: [], problem: { reason: Reason.NoMatchingParent, message: `${parentName} has no listener ${what}` } };
  }
  const accepting: ListenerState[] = [];
  const refusals: string[] = [];
  let hostnameOnly = false;
  for (const l of candidates) {
    const kindOk = l.supportedKinds.some((k) => k.group === GATEWAY_GROUP && k.kind === route.kind);
    const nsOk = l.allowsNamespace(route.namespace);
    const hostOk = hostnamesIntersect(l.hostname, route.hostnames);
    if (kindOk && nsOk && hostOk) accepting.push(l);
    else if (kindOk && nsOk) hostnameOnly = true;
    else if (!kindOk) refusals.push(`listener ${l.name} does not accept ${route.kind} (supported kinds: ${l.supportedKinds.map((k) => k.kind).join(', ') || 'none'})`);
    else refusals.push(`listener ${l.name} does not allow routes from namespace ${route.namespace} (allowedRoutes.namespaces.from: ${l.spec.allowedRoutes?.namespaces?.from ?? 'Same'})`);
  }
  if (accepting.length > 0) return { parentRef, gateway, listeners: accepting };
  if (hostnameOnly) {
    const names = candidates.map((l) => l.name).join(', ');
    return {
      parentRef, gateway, listeners: [],
      problem: { reason: Reason.NoMatchingListenerHostname, message: `no hostname of the route intersects the hostname of listener(s) ${names}` },
    };
  }
  return { parentRef, gateway, listeners: [], problem: { reason: Reason.NotAllowedByListeners, message: refusals.join('; ') } };
}

function hostnamesIntersect(listener: string | undefined, routeHostnames: readonly string[]): boolean {
  if (listener === undefined || routeHostnames.length === 0) return true;
  return routeHostnames.some((h) => intersectHostnames(listener, h) !== undefined);
}

/** The hostnames a route serves on a listener (route hostnames intersected with the listener's); "*" = any. */
export function effectiveHostnames(listener: string | undefined, routeHostnames: readonly string[]): string[] {
  if (routeHostnames.length === 0) return [listener ?? '*'];
  const out: string[] = [];
  for (const h of routeHostnames) {
    const i = intersectHostnames(listener, h);
    if (i !== undefined && !out.includes(i)) out.push(i);
  }
  return out;
}
