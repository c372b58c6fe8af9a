import type { TranslateContext } from './context.js';
import type { HttpRouteIR } from './ir.js';
import type { ListenerState } from './types.js';

/**
 * Warn about a RequestRedirect to https on a route that is also attached to
 * an HTTPS listener: requests arriving over HTTPS get redirected to HTTPS
 * again, forever (gateway-api#1185). The fix is two routes pinned to the
 * listeners by sectionName.
 */
export function checkRedirectLoops(
  route: { kind: string; namespace: string; name: string },
  entries: readonly HttpRouteIR[],
  listeners: readonly ListenerState[],
  ctx: TranslateContext,
): void {
  const https = listeners.filter((l) => l.protocol === 'HTTPS');
  if (https.length === 0) return;
  const http = listeners.filter((l) => l.protocol === 'HTTP');
  const warned = new Set<number>();
  for (const e of entries) {
    if (warned.has(e.ref.ruleIndex)) continue;
    const redirect = e.action.filters.find((f) => f.type === 'RequestRedirect');
    if (redirect?.type !== 'RequestRedirect' || redirect.scheme !== 'https') continue;
    warned.add(e.ref.ruleIndex);
    const httpsNames = https.map((l) => `${l.gateway.namespace}/${l.gateway.name}/${l.name}`).join(', ');
    const both = http.length > 0 ? ` and HTTP listener(s) ${http.map((l) => `${l.gateway.namespace}/${l.gateway.name}/${l.name}`).join(', ')}` : '';
    const httpsSection = https[0].name;
    const redirectHome = http.length > 0 ? `parentRefs[].sectionName: ${http[0].name}` : 'parentRefs[].sectionName set to an HTTP listener';
    ctx.warn({
      object: { kind: route.kind, namespace: route.namespace, name: route.name },
      field: `spec.rules[${e.ref.ruleIndex}].filters`,
      code: 'RedirectLoop',
      message:
        `this rule redirects to https, but the route is attached to HTTPS listener(s) ${httpsNames}${both}: ` +
        'requests that already arrived over HTTPS are redirected to HTTPS again, in a loop (gateway-api#1185). ' +
        `Use two HTTPRoutes pinned by sectionName: one with ${redirectHome} holding only the redirect, ` +
        `and one with parentRefs[].sectionName: ${httpsSection} holding the backendRefs.`,
    });
  }
}
