import { GATEWAY_GROUP } from '../model/objects.js';
import { Reason } from './conditions.js';
import type { TranslateContext } from './context.js';
import { normalizeHostname } from './hostnames.js';
import { protocolModule } from './protocols/index.js';
import { selectorMatches, type LabelSelector } from './selectors.js';
import type { GatewayState, ListenerOwner, ListenerSetState, ListenerSpec, ListenerState, Problem, RouteGroupKind } from './types.js';

/**
 * The state of one listener, declared by a Gateway or by one of its
 * ListenerSets (`listenerSet`): protocol module, route kinds, namespace
 * policy and TLS, all relative to the declaring object.
 */
export function buildListener(spec: ListenerSpec, gateway: GatewayState, ctx: TranslateContext, listenerSet?: ListenerSetState): ListenerState {
  const owner: ListenerOwner = listenerSet
    ? { kind: 'ListenerSet', namespace: listenerSet.namespace, name: listenerSet.name }
    : { kind: 'Gateway', namespace: gateway.namespace, name: gateway.name };
  const module = protocolModule(spec.protocol);
  const carried = (module?.routeKinds ?? []).filter((k) => k.kind !== 'GRPCRoute' || ctx.options.grpcRoutes === true);
  const kinds = routeKinds(spec, carried);
  const supportedKinds = kinds.supportedKinds;
  // An unsupported protocol already explains why no kind can attach.
  const invalidKinds = module === undefined ? [] : kinds.invalidKinds;
  const resolution = module && !gateway.rejected ? module.resolve(spec, owner, ctx, gateway) : {};
  const hostname = spec.hostname ? normalizeHostname(spec.hostname) : undefined;
  const listener: ListenerState = {
    id: listenerId(owner, spec.name),
    gateway,
    ...(listenerSet ? { listenerSet } : {}),
    spec,
    name: spec.name,
    port: spec.port,
    protocol: spec.protocol,
    hostname,
    module,
    supportedKinds,
    invalidKinds,
    allowsNamespace: namespacePolicy(spec, owner.namespace, ctx),
    ...(resolution.tls ? { tls: resolution.tls } : {}),
    ...(resolution.tlsMode ? { tlsMode: resolution.tlsMode } : {}),
    ...(resolution.refProblem ? { refProblem: resolution.refProblem } : {}),
    ...(resolution.acceptProblem ? { acceptProblem: resolution.acceptProblem } : {}),
    attachedRoutes: new Set(),
    httpEntries: [],
    l4Routes: [],
  };
  return listener;
}

/**
 * A listener's id in the route table: "namespace/gateway/listener" for a
 * Gateway's own listener, "ListenerSet/namespace/name/listener" for one a
 * ListenerSet declares (namespaces are lower case, so the two never collide).
 */
export function listenerId(owner: ListenerOwner, listenerName: string): string {
  return owner.kind === 'Gateway' ? `${owner.namespace}/${owner.name}/${listenerName}` : `ListenerSet/${owner.namespace}/${owner.name}/${listenerName}`;
}

/**
 * allowedRoutes.kinds filtered to what the protocol carries; when none are
 * given, everything the protocol carries. Group defaults to the Gateway API group.
 */
function routeKinds(spec: ListenerSpec, carried: readonly RouteGroupKind[]): { supportedKinds: RouteGroupKind[]; invalidKinds: string[] } {
  const requested = spec.allowedRoutes?.kinds ?? [];
  if (requested.length === 0) return { supportedKinds: [...carried], invalidKinds: [] };
  const supportedKinds: RouteGroupKind[] = [];
  const invalidKinds: string[] = [];
  for (const k of requested) {
    const group = k.group ?? GATEWAY_GROUP;
    const ok = carried.some((c) => c.group === group && c.kind === k.kind);
    if (!ok) invalidKinds.push(`${group}/${k.kind}`);
    else if (!supportedKinds.some((s) => s.group === group && s.kind === k.kind)) supportedKinds.push({ group, kind: k.kind });
  }
  return { supportedKinds, invalidKinds };
}

/** allowedRoutes.namespaces: Same (default; the declaring object's namespace), All, or Selector over the route namespace's labels. */
function namespacePolicy(spec: ListenerSpec, ownerNamespace: string, ctx: TranslateContext): (ns: string) => boolean {
  const from = spec.allowedRoutes?.namespaces?.from ?? 'Same';
  switch (from) {
    case 'All':
      return () => true;
    case 'Selector': {
      const selector = spec.allowedRoutes?.namespaces?.selector as LabelSelector | undefined;
      // A Selector policy without a selector selects nothing (the API requires one).
      if (selector === undefined) return () => false;
      return (ns) => selectorMatches(selector, ctx.namespaceLabels(ns));
    }
    case 'Same':
      return (ns) => ns === ownerNamespace;
    default:
      return () => false;
  }
}

/** The problem that keeps a listener from being Accepted, if any. */
export function listenerAcceptProblem(l: ListenerState): Problem | undefined {
  if (l.module === undefined) {
    return { reason: Reason.UnsupportedProtocol, message: `protocol ${l.protocol} is not supported` };
  }
  if (l.acceptProblem) return l.acceptProblem;
  if (l.conflict) return l.conflict;
  return undefined;
}

/** A listener that can be used once its parent takes it: Accepted with every reference resolved. */
export function listenerValid(l: ListenerState): boolean {
  return listenerAcceptProblem(l) === undefined && l.refProblem === undefined;
}

/**
 * Why a ListenerSet is not Accepted: its parent refuses it (NotAllowed,
 * ParentNotAccepted) or none of its listeners is valid (ListenersNotValid).
 */
export function listenerSetProblem(ls: ListenerSetState): Problem | undefined {
  if (ls.refused) return ls.refused;
  if (!ls.listeners.some(listenerValid)) {
    return { reason: Reason.ListenersNotValid, message: `no listener is valid: ${ls.listeners.map((l) => l.name).join(', ')}` };
  }
  return undefined;
}

/** Can the listener serve traffic (goes into the route table)? */
export function listenerServes(l: ListenerState): boolean {
  if (l.gateway.rejected || l.gateway.unprogrammed) return false;
  if (l.listenerSet && listenerSetProblem(l.listenerSet) !== undefined) return false;
  if (listenerAcceptProblem(l) !== undefined) return false;
  // HTTPS always terminates; TLS listeners only in mode Terminate.
  if ((l.module?.needsCertificates || l.tlsMode === 'Terminate') && (l.tls?.certificates.length ?? 0) === 0) return false;
  return true;
}

/** Every listener of a Gateway: its own, then those of the ListenerSets it takes, in precedence order. */
export function mergedListeners(g: GatewayState): ListenerState[] {
  const out = [...g.listeners];
  for (const ls of g.listenerSets) out.push(...ls.listeners);
  return out;
}
