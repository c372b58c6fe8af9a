/**
 * Hostname helpers with Gateway API semantics. A wildcard "*.example.com"
 * matches any name with at least one more label ("a.example.com",
 * "a.b.example.com") but not "example.com" itself.
 */

export function isWildcard(h: string): boolean {
  return h.startsWith('*.');
}

/** Lower case without a trailing dot. */
export function normalizeHostname(h: string): string {
  const lower = h.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Does the wildcard pattern "*.suffix" match the name (exact or wildcard)? */
function wildcardCovers(pattern: string, name: string): boolean {
  const suffix = pattern.slice(1); // ".example.com"
  return name.length > suffix.length && name.endsWith(suffix) && (name.startsWith('*.') ? name.length - 1 > suffix.length : true);
}

/**
 * The hostname a route hostname and a listener hostname have in common, or
 * undefined when they do not intersect. `undefined` inputs mean "any host".
 * The result is the more specific of the two; "*" means any host.
 */
export function intersectHostnames(listener: string | undefined, route: string | undefined): string | undefined {
  if (listener === undefined) return route ?? '*';
  if (route === undefined) return listener;
  if (listener === route) return listener;
  const lw = isWildcard(listener);
  const rw = isWildcard(route);
  if (!lw && !rw) return undefined;
  if (lw && wildcardCovers(listener, route)) return route;
  if (rw && wildcardCovers(route, listener)) return listener;
  return undefined;
}

/**
 * Does a route hostname (exact, wildcard or "*") serve every request that a
 * virtual host named `vhost` receives? "*" covers everything; "*.com" covers
 * "example.com" and "*.example.com"; an exact name covers only itself.
 */
export function hostnameCovers(route: string, vhost: string): boolean {
  if (route === '*' || route === vhost) return true;
  return isWildcard(route) && vhost !== '*' && wildcardCovers(route, vhost);
}

/**
 * Specificity order for hostnames (listeners and virtual hosts): exact names
 * first, then wildcards with more labels first, then the catch-all ("*" or
 * undefined). Ties break alphabetically so the order is total.
 */
export function compareHostSpecificity(a: string | undefined, b: string | undefined): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) {
    const la = labels(a!);
    const lb = labels(b!);
    if (la !== lb) return lb - la;
    if (a!.length !== b!.length) return b!.length - a!.length;
  }
  const sa = a ?? '';
  const sb = b ?? '';
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function rank(h: string | undefined): number {
  if (h === undefined || h === '' || h === '*') return 2;
  return isWildcard(h) ? 1 : 0;
}

function labels(h: string): number {
  let n = 1;
  for (let i = 0; i < h.length; i++) if (h.charCodeAt(i) === 46) n++;
  return n;
}
