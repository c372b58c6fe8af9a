import type { HTTPRoute } from '../model/objects.js';
import { resolveBackendRef } from './backends.js';
import type { TranslateContext } from './context.js';
import { metaOf } from './context.js';
import { Reason } from './conditions.js';
import { parseGatewayDuration } from './duration.js';
import { translateFilters } from './filters.js';
import { normalizeHostname } from './hostnames.js';
import type { HttpActionIR, HttpRouteIR, WeightedBackendIR } from './ir.js';
import { translateMatch } from './matches.js';
import type { HTTPRouteRule, Problem } from './types.js';

/** An HTTPRoute translated independently of where it attaches. */
export interface RouteTranslation {
  readonly namespace: string;
  readonly name: string;
  readonly generation: number | undefined;
  readonly created: number | undefined;
  readonly hostnames: readonly string[];
  /** One entry per (rule, match), in rule and match order. */
  readonly entries: readonly HttpRouteIR[];
  /** The first unresolvable reference (ResolvedRefs=False), if any. */
  readonly refProblem?: Problem;
  /** Problems of invalid rules, in rule order. */
  readonly ruleProblems: readonly Problem[];
  /** True when no rule is valid: the route is not Accepted. */
  readonly allRulesInvalid: boolean;
}

export function translateHttpRoute(route: HTTPRoute, ctx: TranslateContext): RouteTranslation {
  const m = metaOf(route);
  const from = { kind: 'HTTPRoute', namespace: m.namespace };
  const entries: HttpRouteIR[] = [];
  const ruleProblems: Problem[] = [];
  let refProblem: Problem | undefined;
  const rules = route.spec?.rules ?? [{}];
  let validRules = 0;
  rules.forEach((rule, ri) => {
    const r = translateRule(rule, ri, m.namespace, m.name, from, ctx);
    entries.push(...r.entries);
    refProblem ??= r.refProblem;
    if (r.problem) ruleProblems.push(r.problem);
    else validRules++;
  });
  const hostnames = [...new Set((route.spec?.hostnames ?? []).map(normalizeHostname))];
  return {
    namespace: m.namespace,
    name: m.name,
    generation: m.generation,
    created: m.created,
    hostnames,
    entries,
    ...(refProblem ? { refProblem } : {}),
    ruleProblems,
    allRulesInvalid: validRules === 0,
  };
}

interface RuleTranslation {
  entries: HttpRouteIR[];
  refProblem?: Problem;
  problem?: Problem;
}

function translateRule(
  rule: HTTPRouteRule,
  ri: number,
  namespace: string,
  name: string,
  from: { kind: string; namespace: string },
  ctx: TranslateContext,
): RuleTranslation {
  const field = `spec.rules[${ri}]`;
  const out: RuleTranslation = { entries: [] };
  const note = (p: Problem): void => {
    out.problem ??= p;
  };
  const noteRef = (p: Problem): void => {
    out.refProblem ??= p;
  };

  const timeouts = translateTimeouts(rule, field);
  if ('problem' in timeouts) note(timeouts.problem);
  const retry = translateRetry(rule, field);
  if (retry && 'problem' in retry) note(retry.problem);

  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [undefined];
  let first = true;
  matches.forEach((mt, mi) => {
    const matchIndex = rule.matches && rule.matches.length > 0 ? mi : -1;
    const t = translateMatch(mt, `${field}.matches[${mi}]`);
    if (t.problem) {
      note(t.problem);
      return;
    }
    const pathPrefix = t.match.path.type === 'PathPrefix' ? t.match.path.value : undefined;
    const filters = translateFilters(rule.filters, { ctx, from, pathPrefix, level: 'rule', field: `${field}.filters` });
    const backends: WeightedBackendIR[] = [];
    let invalid = filters.invalid;
    (rule.backendRefs ?? []).forEach((b, bi) => {
      const bf = translateFilters(b.filters, { ctx, from, pathPrefix, level: 'backend', field: `${field}.backendRefs[${bi}].filters` });
      invalid ??= bf.invalid;
      const res = resolveBackendRef(b, from, ctx);
      const weight = b.weight ?? 1;
      if (res.problem) {
        if (first) noteRef({ reason: res.problem.reason, message: `${field}.backendRefs[${bi}]: ${res.problem.message}` });
        backends.push({ weight, invalid: res.problem.reason, filters: bf.filters });
      } else {
        backends.push({ weight, cluster: res.cluster, filters: bf.filters });
      }
      if (first) bf.refProblems.forEach(noteRef);
    });
    if (first) filters.refProblems.forEach(noteRef);
    if ((rule.backendRefs ?? []).length > 0 && filters.filters.some((f) => f.type === 'RequestRedirect')) {
      invalid ??= { reason: Reason.IncompatibleFilters, message: `${field}: a RequestRedirect rule cannot have backendRefs` };
    }
    if (invalid) note(invalid);
    first = false;
    const ruleInvalid = invalid !== undefined || 'problem' in timeouts || (retry !== undefined && 'problem' in retry);
    // An invalid rule answers 500 and does nothing else (no mirrors, no upstream).
    const action: HttpActionIR = ruleInvalid
      ? { filters: [], backends: [], directResponse: { status: 500, body: 'route rule is invalid\n' } }
      : {
        filters: filters.filters,
        backends,
        ...('value' in timeouts && timeouts.value ? { timeouts: timeouts.value } : {}),
        ...(retry && 'value' in retry ? { retry: retry.value } : {}),
      };
    out.entries.push({
      ref: { kind: 'HTTPRoute', namespace, name, ruleIndex: ri, matchIndex, ...(rule.name !== undefined ? { ruleName: rule.name } : {}) },
      match: t.match,
      action,
    });
  });
  return out;
}

type Timeouts = NonNullable<HttpActionIR['timeouts']>;

function translateTimeouts(rule: HTTPRouteRule, field: string): { value?: Timeouts } | { problem: Problem } {
  const t = rule.timeouts;
  if (t === undefined) return {};
  const value: { requestMs?: number; backendRequestMs?: number } = {};
  if (t.request !== undefined) {
    const ms = parseGatewayDuration(t.request);
    if (ms === undefined) return { problem: { reason: Reason.UnsupportedValue, message: `${field}.timeouts.request: ${JSON.stringify(t.request)} is not a duration` } };
    value.requestMs = ms;
  }
  if (t.backendRequest !== undefined) {
    const ms = parseGatewayDuration(t.backendRequest);
    if (ms === undefined) return { problem: { reason: Reason.UnsupportedValue, message: `${field}.timeouts.backendRequest: ${JSON.stringify(t.backendRequest)} is not a duration` } };
    value.backendRequestMs = ms;
  }
  if (value.requestMs && value.backendRequestMs && value.backendRequestMs > value.requestMs) {
    return { problem: { reason: Reason.UnsupportedValue, message: `${field}.timeouts: backendRequest is longer than request` } };
  }
  return { value };
}

type Retry = NonNullable<HttpActionIR['retry']>;

function translateRetry(rule: HTTPRouteRule, field: string): { value: Retry } | { problem: Problem } | undefined {
  const r = rule.retry;
  if (r === undefined) return undefined;
  let backoffMs: number | undefined;
  if (r.backoff !== undefined) {
    backoffMs = parseGatewayDuration(r.backoff);
    if (backoffMs === undefined) return { problem: { reason: Reason.UnsupportedValue, message: `${field}.retry.backoff: ${JSON.stringify(r.backoff)} is not a duration` } };
  }
  return { value: { attempts: r.attempts ?? 1, codes: [...(r.codes ?? [])], ...(backoffMs !== undefined ? { backoffMs } : {}) } };
}
