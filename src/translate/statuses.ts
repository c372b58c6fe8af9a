import type { GatewayClass } from '../model/objects.js';
import { GATEWAY_GROUP } from '../model/objects.js';
import type { ParentAttachment } from './attachment.js';
import { BackendClientCertReason } from './backend-client-cert.js';
import { condition, Reason } from './conditions.js';
import { usesInsecureFallback } from './frontend.js';
import { listenerAcceptProblem, listenerServes, listenerSetProblem, listenerValid } from './listeners.js';
import type { Condition, ObjectStatus } from './status.js';
import type { GatewayState, ListenerSetState, ListenerState, Problem } from './types.js';

const API_VERSION = `${GATEWAY_GROUP}/v1`;

export function gatewayClassStatus(cls: GatewayClass, generation: number | undefined, problem: Problem | undefined, features: readonly string[]): ObjectStatus {
  return {
    kind: 'GatewayClass',
    apiVersion: API_VERSION,
    namespace: '',
    name: cls.metadata?.name ?? '',
    ...(generation !== undefined ? { generation } : {}),
    status: {
      conditions: [
        problem
          ? condition('Accepted', false, problem.reason, problem.message, generation)
          : condition('Accepted', true, Reason.Accepted, 'GatewayClass is accepted by this controller', generation),
      ],
      supportedFeatures: [...features].sort().map((name) => ({ name })),
    },
  };
}

export function gatewayStatus(g: GatewayState): ObjectStatus {
  const gen = g.generation;
  const listeners = g.listeners.map((l) => listenerStatus(l, gen));
  return {
    kind: 'Gateway',
    apiVersion: API_VERSION,
    namespace: g.namespace,
    name: g.name,
    ...(gen !== undefined ? { generation: gen } : {}),
    status: {
      addresses: g.statusAddresses.map((a) => ({ type: a.type, value: a.value })),
      conditions: gatewayConditions(g, gen),
      listeners,
      // Only for Gateways that deal in ListenerSets: absent means 0 (omitempty), and other Gateways' status stays as before.
      ...(g.obj.spec?.allowedListeners !== undefined || g.listenerSets.length > 0
        ? { attachedListenerSets: g.listenerSets.filter((ls) => listenerSetProblem(ls) === undefined).length }
        : {}),
    },
  };
}

function listenerStatus(l: ListenerState, gen: number | undefined): Record<string, unknown> {
  return {
    name: l.name,
    supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
    attachedRoutes: l.attachedRoutes.size,
    conditions: listenerConditions(l, gen),
  };
}

/**
 * A ListenerSet's status: Accepted/Programmed summarise only its own
 * listeners (GEP-1713), which are listed like a Gateway's. A ListenerSet its
 * parent refuses lists no listeners.
 */
export function listenerSetStatus(ls: ListenerSetState): ObjectStatus {
  const gen = ls.generation;
  return {
    kind: 'ListenerSet',
    apiVersion: API_VERSION,
    namespace: ls.namespace,
    name: ls.name,
    ...(gen !== undefined ? { generation: gen } : {}),
    status: {
      conditions: listenerSetConditions(ls, gen),
      listeners: ls.listeners.map((l) => listenerStatus(l, gen)),
    },
  };
}

function listenerSetConditions(ls: ListenerSetState, gen: number | undefined): Condition[] {
  const problem = listenerSetProblem(ls);
  if (problem) {
    return [
      condition('Accepted', false, problem.reason, problem.message, gen),
      condition('Programmed', false, problem.reason, problem.message, gen),
    ];
  }
  const invalid = ls.listeners.filter((l) => !listenerValid(l) || l.invalidKinds.length > 0);
  const names = (list: readonly ListenerState[]): string => list.map((l) => l.name).join(', ');
  const accepted = invalid.length > 0
    ? condition('Accepted', true, Reason.ListenersNotValid, `invalid listeners: ${names(invalid)}; valid listeners: ${names(ls.listeners.filter((l) => !invalid.includes(l)))}`, gen)
    : condition('Accepted', true, Reason.Accepted, `ListenerSet is accepted by Gateway ${ls.gateway.namespace}/${ls.gateway.name}`, gen);
  let programmed: Condition;
  if (ls.gateway.unprogrammed) programmed = condition('Programmed', false, Reason.Invalid, `Gateway ${ls.gateway.namespace}/${ls.gateway.name} is not programmed: ${ls.gateway.unprogrammed.message}`, gen);
  else if (!ls.listeners.some(listenerServes)) programmed = condition('Programmed', false, Reason.Invalid, 'no listener can be programmed', gen);
  else programmed = condition('Programmed', true, Reason.Programmed, 'ListenerSet is programmed', gen);
  return [accepted, programmed];
}

function gatewayConditions(g: GatewayState, gen: number | undefined): Condition[] {
  if (g.rejected) {
    return [
      condition('Accepted', false, g.rejected.reason, g.rejected.message, gen),
      condition('Programmed', false, Reason.Invalid, `Gateway is not accepted: ${g.rejected.message}`, gen),
    ];
  }
  const notAccepted = g.listeners.filter((l) => listenerAcceptProblem(l) !== undefined);
  const invalid = g.listeners.filter((l) => listenerAcceptProblem(l) !== undefined || l.refProblem !== undefined || l.invalidKinds.length > 0);
  const names = (ls: readonly ListenerState[]): string => ls.map((l) => l.name).join(', ');
  let accepted: Condition;
  if (g.listeners.length === 0) {
    accepted = condition('Accepted', false, Reason.ListenersNotValid, 'the Gateway has no listeners', gen);
  } else if (notAccepted.length === g.listeners.length) {
    accepted = condition('Accepted', false, Reason.ListenersNotValid, `no listener is valid: ${names(g.listeners)}`, gen);
  } else if (invalid.length > 0) {
    const ok = g.listeners.filter((l) => !invalid.includes(l));
    accepted = condition('Accepted', true, Reason.ListenersNotValid, `invalid listeners: ${names(invalid)}${ok.length > 0 ? `; valid listeners: ${names(ok)}` : ''}`, gen);
  } else {
    accepted = condition('Accepted', true, Reason.Accepted, 'Gateway is accepted', gen);
  }
  let programmed: Condition;
  if (g.unprogrammed) programmed = condition('Programmed', false, g.unprogrammed.reason, g.unprogrammed.message, gen);
  else if (accepted.status !== 'True') programmed = condition('Programmed', false, Reason.Invalid, 'Gateway is not accepted', gen);
  else if (!g.listeners.some(listenerServes)) programmed = condition('Programmed', false, Reason.Invalid, 'no listener can be programmed', gen);
  else programmed = condition('Programmed', true, Reason.Programmed, 'Gateway is programmed', gen);
  const conds = [accepted, programmed];
  const resolved = gatewayResolvedRefs(g, gen);
  if (resolved) conds.push(resolved);
  if (usesInsecureFallback(g.obj)) {
    conds.push(condition(Reason.InsecureFrontendValidationMode, true, Reason.ConfigurationChanged,
      'spec.tls.frontend allows insecure fallback (mode AllowInsecureFallback): clients without a valid certificate are served', gen));
  }
  return conds;
}

/**
 * The Gateway-level ResolvedRefs condition, written only when the Gateway
 * has spec.tls.backend (the references it covers): False for an unusable
 * client certificate, then for listeners whose references do not resolve.
 */
function gatewayResolvedRefs(g: GatewayState, gen: number | undefined): Condition | undefined {
  if (g.obj.spec?.tls?.backend === undefined) return undefined;
  if (g.backendTLSProblem) return condition('ResolvedRefs', false, g.backendTLSProblem.reason, g.backendTLSProblem.message, gen);
  const unresolved = g.listeners.filter((l) => l.refProblem !== undefined);
  if (unresolved.length > 0) {
    return condition('ResolvedRefs', false, BackendClientCertReason.ListenersNotResolved, `listeners with unresolved references: ${unresolved.map((l) => l.name).join(', ')}`, gen);
  }
  return condition('ResolvedRefs', true, Reason.ResolvedRefs, 'all references are resolved', gen);
}

function listenerConditions(l: ListenerState, gen: number | undefined): Condition[] {
  const accept = listenerAcceptProblem(l);
  const accepted = accept
    ? condition('Accepted', false, accept.reason, accept.message, gen)
    : condition('Accepted', true, Reason.Accepted, 'listener is accepted', gen);
  let programmed: Condition;
  if (listenerServes(l)) programmed = condition('Programmed', true, Reason.Programmed, 'listener is programmed', gen);
  else {
    const setProblem = l.listenerSet ? listenerSetProblem(l.listenerSet) : undefined;
    const why = l.gateway.rejected?.message ?? l.gateway.unprogrammed?.message ?? accept?.message ?? l.refProblem?.message
      ?? (setProblem ? `ListenerSet is not accepted: ${setProblem.message}` : 'listener has no usable certificate');
    // A ListenerSet listener that lost a conflict says so in Programmed too (GEP-1713 conformance expects it).
    const reason = l.listenerSet && l.conflict && accept === l.conflict ? l.conflict.reason : Reason.Invalid;
    programmed = condition('Programmed', false, reason, why, gen);
  }
  let resolved: Condition;
  if (l.invalidKinds.length > 0) {
    resolved = condition('ResolvedRefs', false, Reason.InvalidRouteKinds, `route kinds this ${l.protocol} listener cannot carry: ${l.invalidKinds.join(', ')}`, gen);
  } else if (l.refProblem) {
    resolved = condition('ResolvedRefs', false, l.refProblem.reason, l.refProblem.message, gen);
  } else {
    resolved = condition('ResolvedRefs', true, Reason.ResolvedRefs, 'all references are resolved', gen);
  }
  const conflicted = l.conflict
    ? condition('Conflicted', true, l.conflict.reason, l.conflict.message, gen)
    : condition('Conflicted', false, Reason.NoConflicts, 'no conflicts', gen);
  return [accepted, programmed, resolved, conflicted];
}

export interface RouteStatusInput {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number | undefined;
  readonly refProblem?: Problem;
  readonly ruleProblems: readonly Problem[];
  readonly allRulesInvalid: boolean;
}

export function routeStatus(r: RouteStatusInput, parents: readonly ParentAttachment[], controllerName: string): ObjectStatus {
  const gen = r.generation;
  return {
    kind: r.kind,
    apiVersion: API_VERSION,
    namespace: r.namespace,
    name: r.name,
    ...(gen !== undefined ? { generation: gen } : {}),
    status: {
      parents: parents.map((p) => ({
        parentRef: p.parentRef,
        controllerName,
        conditions: routeParentConditions(r, p, gen),
      })),
    },
  };
}

export function routeAccepted(r: RouteStatusInput, p: ParentAttachment): boolean {
  return p.problem === undefined && !r.allRulesInvalid;
}

function routeParentConditions(r: RouteStatusInput, p: ParentAttachment, gen: number | undefined): Condition[] {
  const out: Condition[] = [];
  if (p.problem) out.push(condition('Accepted', false, p.problem.reason, p.problem.message, gen));
  else if (r.allRulesInvalid) {
    const first = r.ruleProblems[0];
    out.push(condition('Accepted', false, first?.reason ?? Reason.UnsupportedValue, `no rule is valid: ${r.ruleProblems.map((x) => x.message).join('; ')}`, gen));
  } else out.push(condition('Accepted', true, Reason.Accepted, `accepted by listener(s) ${p.listeners.map((l) => l.name).join(', ')}`, gen));
  out.push(
    r.refProblem
      ? condition('ResolvedRefs', false, r.refProblem.reason, r.refProblem.message, gen)
      : condition('ResolvedRefs', true, Reason.ResolvedRefs, 'all references are resolved', gen),
  );
  if (!r.allRulesInvalid && r.ruleProblems.length > 0) {
    out.push(condition(Reason.PartiallyInvalid, true, r.ruleProblems[0].reason, `some rules are invalid: ${r.ruleProblems.map((x) => x.message).join('; ')}`, gen));
  }
  return out;
}
