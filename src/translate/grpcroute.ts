import type { GRPCRoute } from '../model/objects.js';
import { resolveBackendRef } from './backends.js';
import type { TranslateContext } from './context.js';
import { metaOf } from './context.js';
import { Reason } from './conditions.js';
import { translateFilters } from './filters.js';
import { normalizeHostname } from './hostnames.js';
import { regexCompiles, translateHeaderMatches } from './matches.js';
import type { RouteTranslation } from './httproute.js';
import type { HttpActionIR, HttpMatchIR, HttpRouteIR, WeightedBackendIR } from './ir.js';
import type { GRPCRouteMatch, GRPCRouteRule, HTTPRouteFilter, Problem } from './types.js';

const GRPC_FILTERS: ReadonlySet<string> = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror', 'ExtensionRef']);
const ANY_SEGMENT = '[^/]+';

/**
 * A GRPCRoute in IR form. gRPC calls are HTTP/2 POSTs to "/service/method",
 * so method matches become path matches the data plane already evaluates
 * (service and method -> Exact path, service only -> PathPrefix "/service",
 * method only or regular expressions -> a RegularExpression over the path);
 * `match.grpc` keeps the original for precedence and /config_dump. Backends
 * and mirrors are h2c clusters.
 */
export function translateGrpcRoute(route: GRPCRoute, ctx: TranslateContext): RouteTranslation {
  const m = metaOf(route);
  const from = { kind: 'GRPCRoute', namespace: m.namespace };
  const entries: HttpRouteIR[] = [];
  const ruleProblems: Problem[] = [];
  let refProblem: Problem | undefined;
  let validRules = 0;
  (route.spec?.rules ?? [{}]).forEach((rule, ri) => {
    const r = translateRule(rule, ri, m.namespace, m.name, from, ctx);
    entries.push(...r.entries);
    refProblem ??= r.refProblem;
    if (r.problem) ruleProblems.push(r.problem);
    else validRules++;
  });
  return {
    namespace: m.namespace,
    name: m.name,
    generation: m.generation,
    created: m.created,
    hostnames: [...new Set((route.spec?.hostnames ?? []).map(normalizeHostname))],
    entries,
    ...(refProblem ? { refProblem } : {}),
    ruleProblems,
    allRulesInvalid: validRules === 0,
  };
}

function translateRule(
  rule: GRPCRouteRule,
  ri: number,
  namespace: string,
  name: string,
  from: { kind: string; namespace: string },
  ctx: TranslateContext,
): { entries: HttpRouteIR[]; refProblem?: Problem; problem?: Problem } {
  const field = `spec.rules[${ri}]`;
  const out: { entries: HttpRouteIR[]; refProblem?: Problem; problem?: Problem } = { entries: [] };
  // GRPCRoute filters are a subset of HTTPRoute filters with the same fields.
  const filters = translateFilters(rule.filters as HTTPRouteFilter[] | undefined, { ctx, from, pathPrefix: undefined, level: 'rule', field: `${field}.filters`, allowed: GRPC_FILTERS, h2c: true });
  let invalid = filters.invalid;
  const refs: Problem[] = [...filters.refProblems];
  const backends: WeightedBackendIR[] = [];
  (rule.backendRefs ?? []).forEach((b, bi) => {
    const bf = translateFilters(b.filters as HTTPRouteFilter[] | undefined, { ctx, from, pathPrefix: undefined, level: 'backend', field: `${field}.backendRefs[${bi}].filters`, allowed: GRPC_FILTERS, h2c: true });
    invalid ??= bf.invalid;
    refs.push(...bf.refProblems);
    const res = resolveBackendRef(b, from, ctx, { h2c: true });
    const weight = b.weight ?? 1;
    if (res.problem) {
      refs.push({ reason: res.problem.reason, message: `${field}.backendRefs[${bi}]: ${res.problem.message}` });
      backends.push({ weight, invalid: res.problem.reason, filters: bf.filters });
    } else {
      backends.push({ weight, cluster: res.cluster, filters: bf.filters });
    }
  });
  if (refs.length > 0) out.refProblem = refs[0];
  if (invalid) out.problem = invalid;
  const action: HttpActionIR = invalid
    ? { filters: [], backends: [], directResponse: { status: 500, body: 'route rule is invalid\n' } }
    : { filters: filters.filters, backends };
  const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [undefined];
  matches.forEach((mt, mi) => {
    const t = translateGrpcMatch(mt, `${field}.matches[${mi}]`);
    if ('problem' in t) {
      out.problem ??= t.problem;
      return;
    }
    out.entries.push({
      ref: { kind: 'GRPCRoute', namespace, name, ruleIndex: ri, matchIndex: rule.matches && rule.matches.length > 0 ? mi : -1, ...(rule.name !== undefined ? { ruleName: rule.name } : {}) },
      match: t,
      action,
    });
  });
  return out;
}

export function translateGrpcMatch(m: GRPCRouteMatch | undefined, field: string): HttpMatchIR | { problem: Problem } {
  const headers = translateHeaderMatches(m?.headers, field);
  if ('problem' in headers) return headers;
  const mm = m?.method;
  if (mm === undefined) return { path: { type: 'PathPrefix', value: '/' }, headers, queryParams: [] };
  const type = mm.type ?? 'Exact';
  const { service, method } = mm;
  if (type !== 'Exact' && type !== 'RegularExpression') return { problem: { reason: Reason.UnsupportedValue, message: `${field}.method: match type ${String(type)} is not supported` } };
  if (!service && !method) return { problem: { reason: Reason.UnsupportedValue, message: `${field}.method: one or both of service and method must be set` } };
  const grpc = { type, ...(service ? { service } : {}), ...(method ? { method } : {}) };
  let path: HttpMatchIR['path'];
  if (type === 'Exact') {
    if (service && method) path = { type: 'Exact', value: `/${service}/${method}` };
    else if (service) path = { type: 'PathPrefix', value: `/${service}` };
    else path = { type: 'RegularExpression', value: `/${ANY_SEGMENT}/${escapeRegExp(method ?? '')}` };
  } else {
    for (const [what, pattern] of [['service', service], ['method', method]] as const) {
      if (pattern && !regexCompiles(pattern)) return { problem: { reason: Reason.UnsupportedValue, message: `${field}.method.${what}: invalid regular expression ${JSON.stringify(pattern)}` } };
    }
    path = { type: 'RegularExpression', value: `/(?:${service || ANY_SEGMENT})/(?:${method || ANY_SEGMENT})` };
  }
  return { path, headers, queryParams: [], grpc };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
