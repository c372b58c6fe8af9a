import type { HttpMatchIR, PathMatchIR, StringMatchIR } from './ir.js';
import type { HTTPRouteMatch, Problem } from './types.js';
import { Reason } from './conditions.js';

export const ROOT_PREFIX: PathMatchIR = { type: 'PathPrefix', value: '/' };

export type MatchTranslation = { readonly match: HttpMatchIR; readonly problem?: undefined } | { readonly match?: undefined; readonly problem: Problem };

/**
 * An HTTPRouteMatch in IR form: path defaults to PathPrefix "/", header
 * names lower case (the first of equivalent names wins, as the spec says),
 * query parameter names case-sensitive, method upper case. Regular
 * expressions must compile (ECMAScript syntax, anchored by the data plane).
 */
export function translateMatch(m: HTTPRouteMatch | undefined, field: string): MatchTranslation {
  const path: PathMatchIR = m?.path === undefined ? ROOT_PREFIX : { type: m.path.type ?? 'PathPrefix', value: m.path.value ?? '/' };
  if (path.type !== 'Exact' && path.type !== 'PathPrefix' && path.type !== 'RegularExpression') {
    return { problem: { reason: Reason.UnsupportedValue, message: `${field}.path: type ${String(path.type)} is not supported` } };
  }
  if (path.type === 'RegularExpression' && !regexCompiles(path.value)) {
    return { problem: { reason: Reason.UnsupportedValue, message: `${field}.path: invalid regular expression ${JSON.stringify(path.value)}` } };
  }
  if (path.type !== 'RegularExpression' && !path.value.startsWith('/')) {
    return { problem: { reason: Reason.UnsupportedValue, message: `${field}.path: ${JSON.stringify(path.value)} must start with "/"` } };
  }
  const headers = translateHeaderMatches(m?.headers, field);
  if ('problem' in headers) return { problem: headers.problem };
  const queryParams: StringMatchIR[] = [];
  for (const [i, q] of (m?.queryParams ?? []).entries()) {
    if (queryParams.some((x) => x.name === q.name)) continue;
    const s = stringMatch(q.type ?? 'Exact', q.name, q.value, `${field}.queryParams[${i}]`);
    if ('problem' in s) return { problem: s.problem };
    queryParams.push(s);
  }
  const match: HttpMatchIR = {
    path,
    ...(m?.method !== undefined ? { method: m.method.toUpperCase() } : {}),
    headers,
    queryParams,
  };
  return { match };
}

/** Header matches of an HTTPRoute or GRPCRoute match: names lower case, the first of equivalent names wins. */
export function translateHeaderMatches(
  list: readonly { readonly name: string; readonly value: string; readonly type?: string }[] | undefined,
  field: string,
): StringMatchIR[] | { problem: Problem } {
  const headers: StringMatchIR[] = [];
  for (const [i, h] of (list ?? []).entries()) {
    const name = h.name.toLowerCase();
    if (headers.some((x) => x.name === name)) continue;
    const s = stringMatch(h.type ?? 'Exact', name, h.value, `${field}.headers[${i}]`);
    if ('problem' in s) return { problem: s.problem };
    headers.push(s);
  }
  return headers;
}

function stringMatch(type: string, name: string, value: string, field: string): StringMatchIR | { problem: Problem } {
  if (type !== 'Exact' && type !== 'RegularExpression') {
    return { problem: { reason: Reason.UnsupportedValue, message: `${field}: match type ${type} is not supported` } };
  }
  if (type === 'RegularExpression' && !regexCompiles(value)) {
    return { problem: { reason: Reason.UnsupportedValue, message: `${field}: invalid regular expression ${JSON.stringify(value)}` } };
  }
  return { type, name, value };
}

/** Whether a Gateway API regular expression compiles (anchored, ECMAScript syntax). */
export function regexCompiles(pattern: string): boolean {
  try {
    new RegExp(`^(?:${pattern})$`);
    return true;
  } catch {
    return false;
  }
}
