import type { GatewayClass } from '../model/objects.js';
import { GATEWAY_GROUP } from '../model/objects.js';
import type { ParentAttachment } from './attachment.js';
import { condition, Reason } from './conditions.js';
import { usesInsecureFallback } from './frontend.js';
import { listenerAcceptProblem, listenerServes } from './gateways.js';
import type { Condition, ObjectStatus } from './status.js';
import type { GatewayState, ListenerState, Problem } from './types.js';

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
  const listeners = g.listeners.map((l) => ({
    name: l.name,
    supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
    attachedRoutes: l.attachedRoutes.size,
    conditions: listenerConditions(l, gen),
  }));
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
    },
  };
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
  if (!usesInsecureFallback(g.obj)) return [accepted, programmed];
  const insecure = condition(Reason.InsecureFrontendValidationMode, true, Reason.ConfigurationChanged,
    'spec.tls.frontend allows insecure fallback (mode AllowInsecureFallback): clients without a valid certificate are served', gen);
  return [accepted, programmed, insecure];
}

function listenerConditions(l: ListenerState, gen: number | undefined): Condition[] {
  const accept = listenerAcceptProblem(l);
  const accepted = accept
    ? condition('Accepted', false, accept.reason, accept.message, gen)
    : condition('Accepted', true, Reason.Accepted, 'listener is accepted', gen);
  let programmed: Condition;
  if (listenerServes(l)) programmed = condition('Programmed', true, Reason.Programmed, 'listener is programmed', gen);
  else {
    const why = l.gateway.rejected?.message ?? l.gateway.unprogrammed?.message ?? accept?.message ?? l.refProblem?.message ?? 'listener has no usable certificate';
    programmed = condition('Programmed', false, Reason.Invalid, why, gen);
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
