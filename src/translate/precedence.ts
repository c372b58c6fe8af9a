import { compareHostSpecificity } from './hostnames.js';
import type { HttpRouteIR } from './ir.js';
import type { HttpEntry } from './types.js';

const PATH_RANK: Readonly<Record<string, number>> = { Exact: 0, RegularExpression: 1, PathPrefix: 2 };

/**
 * Gateway API match precedence across every route on a virtual host (the
 * first entry in this order that matches a request wins):
 *   1. Exact path, then RegularExpression (implementation-specific: longer
 *      patterns first), then PathPrefix with the most characters;
 *   2. a method match;
 *   3. the most header matches;
 *   4. the most query parameter matches;
 *   5. the more specific route hostname (exact, then wildcards with more
 *      labels, then none): the spec ranks hostnames first, but conformance
 *      (HTTPRouteMatchingAcrossRoutes) requires the match criteria to win;
 *   6. the oldest route (creationTimestamp; routes without one come last);
 *   7. route namespace/name alphabetically (then kind, for GRPCRoute vs HTTPRoute);
 *   8. rule order, then match order within the rule.
 * The last keys make it a total order, so the result never depends on input order.
 */
export function compareEntries(a: HttpEntry, b: HttpEntry): number {
  if (a.ir.ref.kind !== b.ir.ref.kind) return cmp(a.ir.ref.kind, b.ir.ref.kind);
  if (a.ir.ref.kind === 'GRPCRoute') {
    return compareHostSpecificity(a.hostname, b.hostname) || compareGrpcMatches(a.ir, b.ir) || compareAge(a.created, b.created) || compareRefs(a.ir, b.ir);
  }
  return compareMatches(a.ir, b.ir) || compareHostSpecificity(a.hostname, b.hostname) || compareAge(a.created, b.created) || compareRefs(a.ir, b.ir);
}

/**
 * GRPCRoute precedence (the two kinds are never merged on one hostname, so
 * entries of different kinds only need some fixed order): the more specific
 * hostname, then the most characters in the service, then in the method,
 * then the most header matches.
 */
function compareGrpcMatches(a: HttpRouteIR, b: HttpRouteIR): number {
  const sa = a.match.grpc?.service?.length ?? 0;
  const sb = b.match.grpc?.service?.length ?? 0;
  if (sa !== sb) return sb - sa;
  const ma = a.match.grpc?.method?.length ?? 0;
  const mb = b.match.grpc?.method?.length ?? 0;
  if (ma !== mb) return mb - ma;
  return b.match.headers.length - a.match.headers.length || compareMatches(a, b);
}

function compareMatches(a: HttpRouteIR, b: HttpRouteIR): number {
  const pa = a.match.path;
  const pb = b.match.path;
  const ra = PATH_RANK[pa.type] ?? 3;
  const rb = PATH_RANK[pb.type] ?? 3;
  if (ra !== rb) return ra - rb;
  if (pa.value.length !== pb.value.length) return pb.value.length - pa.value.length;
  const ma = a.match.method !== undefined ? 1 : 0;
  const mb = b.match.method !== undefined ? 1 : 0;
  if (ma !== mb) return mb - ma;
  if (a.match.headers.length !== b.match.headers.length) return b.match.headers.length - a.match.headers.length;
  if (a.match.queryParams.length !== b.match.queryParams.length) return b.match.queryParams.length - a.match.queryParams.length;
  return 0;
}

function compareAge(a: number | undefined, b: number | undefined): number {
  const ca = a ?? Number.POSITIVE_INFINITY;
  const cb = b ?? Number.POSITIVE_INFINITY;
  return ca === cb ? 0 : ca < cb ? -1 : 1;
}

function compareRefs(a: HttpRouteIR, b: HttpRouteIR): number {
  return (
    cmp(`${a.ref.namespace}/${a.ref.name}`, `${b.ref.namespace}/${b.ref.name}`) ||
    cmp(a.ref.kind, b.ref.kind) ||
    a.ref.ruleIndex - b.ref.ruleIndex ||
    a.ref.matchIndex - b.ref.matchIndex ||
    // Same route rule and match placed twice (cannot happen from one route); keep the order total anyway.
    cmp(a.match.path.value, b.match.path.value)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
