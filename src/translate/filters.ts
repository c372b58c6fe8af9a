import { resolveBackendRef } from './backends.js';
import type { TranslateContext } from './context.js';
import { Reason } from './conditions.js';
import type { HeaderIR, HttpFilterIR, PathModifierIR } from './ir.js';
import type { HTTPRouteFilter, Problem } from './types.js';

export interface FilterScope {
  readonly ctx: TranslateContext;
  /** The route kind and namespace, for ReferenceGrant checks on mirror backends. */
  readonly from: { readonly kind: string; readonly namespace: string };
  /** The PathPrefix value of the match the filters apply to (ReplacePrefixMatch needs one). */
  readonly pathPrefix: string | undefined;
  /** Filters on a backendRef: only header modifiers, URLRewrite and RequestMirror are supported there. */
  readonly level: 'rule' | 'backend';
  /** Field path of the filter list, for messages. */
  readonly field: string;
  /** Filter types this route kind defines (GRPCRoute has fewer); others are invalid. */
  readonly allowed?: ReadonlySet<string>;
  /** Mirror to h2c clusters (GRPCRoute). */
  readonly h2c?: boolean;
}

export interface FilterTranslation {
  readonly filters: HttpFilterIR[];
  /** Makes the rule invalid: it answers 500 and the route reports it. */
  readonly invalid?: Problem;
  /** Unresolvable references (mirror backends) for ResolvedRefs=False. */
  readonly refProblems: Problem[];
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);
const BACKEND_LEVEL = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'URLRewrite', 'RequestMirror']);

/** Translate an HTTPRoute filter list, in order. */
export function translateFilters(list: readonly HTTPRouteFilter[] | undefined, scope: FilterScope): FilterTranslation {
  const filters: HttpFilterIR[] = [];
  const refProblems: Problem[] = [];
  let invalid: Problem | undefined;
  const fail = (i: number, reason: string, message: string): void => {
    invalid ??= { reason, message: `${scope.field}[${i}]: ${message}` };
  };
  const types = (list ?? []).map((f) => f.type);
  if (types.includes('RequestRedirect') && types.includes('URLRewrite')) {
    invalid = { reason: Reason.IncompatibleFilters, message: `${scope.field}: RequestRedirect and URLRewrite cannot be combined` };
  }
  (list ?? []).forEach((f, i) => {
    if (scope.allowed !== undefined && !scope.allowed.has(f.type)) {
      fail(i, Reason.UnsupportedValue, `filter type ${String(f.type)} is not valid here`);
      return;
    }
    if (scope.level === 'backend' && !BACKEND_LEVEL.has(f.type)) {
      fail(i, Reason.UnsupportedValue, `filter ${f.type} is not supported on a backendRef`);
      return;
    }
    switch (f.type) {
      case 'RequestHeaderModifier':
      case 'ResponseHeaderModifier': {
        const h = f.type === 'RequestHeaderModifier' ? f.requestHeaderModifier : f.responseHeaderModifier;
        filters.push({ type: f.type, set: headers(h?.set), add: headers(h?.add), remove: [...(h?.remove ?? [])] });
        break;
      }
      case 'RequestRedirect': {
        const r = f.requestRedirect ?? {};
        const statusCode = r.statusCode ?? 302;
        if (!REDIRECT_CODES.has(statusCode)) {
          fail(i, Reason.UnsupportedValue, `redirect statusCode ${String(statusCode)} is not supported`);
          return;
        }
        const scheme: unknown = r.scheme;
        if (scheme !== undefined && scheme !== 'http' && scheme !== 'https') {
          fail(i, Reason.UnsupportedValue, `redirect scheme ${String(scheme)} is not supported`);
          return;
        }
        const path = pathModifier(r.path, scope.pathPrefix);
        if (typeof path === 'string') {
          fail(i, Reason.UnsupportedValue, path);
          return;
        }
        filters.push({
          type: 'RequestRedirect',
          ...(scheme !== undefined ? { scheme } : {}),
          ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
          ...(r.port !== undefined ? { port: r.port } : {}),
          ...(path !== undefined ? { path } : {}),
          statusCode,
        });
        break;
      }
      case 'URLRewrite': {
        const u = f.urlRewrite ?? {};
        const path = pathModifier(u.path, scope.pathPrefix);
        if (typeof path === 'string') {
          fail(i, Reason.UnsupportedValue, path);
          return;
        }
        filters.push({ type: 'URLRewrite', ...(u.hostname !== undefined ? { hostname: u.hostname } : {}), ...(path !== undefined ? { path } : {}) });
        break;
      }
      case 'RequestMirror': {
        const m = f.requestMirror;
        if (m === undefined) {
          fail(i, Reason.UnsupportedValue, 'requestMirror is missing');
          return;
        }
        const fraction = m.percent !== undefined
          ? m.percent / 100
          : m.fraction !== undefined
            ? m.fraction.numerator / (m.fraction.denominator ?? 100)
            : 1;
        const res = resolveBackendRef(m.backendRef, scope.from, scope.ctx, { h2c: scope.h2c === true });
        if (res.problem) {
          refProblems.push({ reason: res.problem.reason, message: `${scope.field}[${i}] mirror: ${res.problem.message}` });
          filters.push({ type: 'RequestMirror', invalid: res.problem.reason, fraction: clamp01(fraction) });
        } else {
          filters.push({ type: 'RequestMirror', cluster: res.cluster, fraction: clamp01(fraction) });
        }
        break;
      }
      case 'CORS': {
        const c = f.cors ?? {};
        filters.push({
          type: 'CORS',
          allowOrigins: [...(c.allowOrigins ?? [])],
          allowCredentials: c.allowCredentials ?? false,
          allowMethods: [...(c.allowMethods ?? [])],
          allowHeaders: [...(c.allowHeaders ?? [])],
          exposeHeaders: [...(c.exposeHeaders ?? [])],
          maxAge: c.maxAge ?? 5,
        });
        break;
      }
      case 'ExtensionRef':
        fail(i, Reason.UnsupportedValue, `ExtensionRef filter ${f.extensionRef?.group ?? ''}/${f.extensionRef?.kind ?? ''} ${f.extensionRef?.name ?? ''} is not supported; matching requests get HTTP 500`);
        break;
      default:
        fail(i, Reason.UnsupportedValue, `filter type ${String(f.type)} is not supported; matching requests get HTTP 500`);
    }
  });
  return invalid === undefined ? { filters, refProblems } : { filters, invalid, refProblems };
}

function headers(list: readonly { name: string; value: string }[] | undefined): HeaderIR[] {
  return (list ?? []).map((h) => ({ name: h.name, value: h.value }));
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 1;
}

/** The IR path modifier, or a message when it cannot apply here. */
function pathModifier(
  p: { type: string; replaceFullPath?: string; replacePrefixMatch?: string } | undefined,
  pathPrefix: string | undefined,
): PathModifierIR | undefined | string {
  if (p === undefined) return undefined;
  if (p.type === 'ReplaceFullPath') return { type: 'ReplaceFullPath', value: p.replaceFullPath ?? '' };
  if (p.type === 'ReplacePrefixMatch') {
    if (pathPrefix === undefined) return 'ReplacePrefixMatch needs the rule to match a PathPrefix';
    return { type: 'ReplacePrefixMatch', value: p.replacePrefixMatch ?? '', prefix: pathPrefix };
  }
  return `path modifier type ${p.type} is not supported`;
}
