import fc from 'fast-check';
import t from 'tap';
import type { HttpRouteIR, RouteTable } from '../../src/translate/ir.js';
import { compileTable } from '../../src/dataplane/compile.js';
import { TlsContextCache } from '../../src/dataplane/tls.js';
import { UpstreamRegistry } from '../../src/dataplane/upstreams.js';
import { pathHasPrefix, pathOf, queryParam } from '../../src/dataplane/paths.js';
import { silentLogger } from '../../src/util/log.js';

/** The spec, written as plainly as possible: the first entry in IR order whose every condition holds. */
function naiveMatch(routes: readonly HttpRouteIR[], url: string, method: string, headers: Record<string, string>): number {
  const path = pathOf(url);
  for (let i = 0; i < routes.length; i++) {
    const m = routes[i].match;
    const p = m.path;
    if (p.type === 'Exact' && path !== p.value) continue;
    if (p.type === 'PathPrefix' && !pathHasPrefix(path, p.value)) continue;
    if (p.type === 'RegularExpression' && !new RegExp(`^(?:${p.value})$`).test(path)) continue;
    if (m.method !== undefined && m.method !== method) continue;
    if (!m.headers.every((h) => headers[h.name] !== undefined && (h.type === 'Exact' ? headers[h.name] === h.value : new RegExp(`^(?:${h.value})$`).test(headers[h.name])))) continue;
    if (!m.queryParams.every((q) => {
      const v = queryParam(url, q.name);
      return v !== undefined && (q.type === 'Exact' ? v === q.value : new RegExp(`^(?:${q.value})$`).test(v));
    })) continue;
    return i;
  }
  return -1;
}

const segment = fc.constantFrom('a', 'b', 'ab', 'v1', 'x');
const pathArb = fc.array(segment, { minLength: 0, maxLength: 4 }).chain((segs) =>
  fc.constantFrom('', '/').map((trail) => `/${segs.join('/')}${segs.length > 0 ? trail : ''}`));
const routeArb = fc.record({
  pathType: fc.constantFrom('Exact', 'PathPrefix', 'PathPrefix', 'RegularExpression'),
  path: pathArb,
  method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
  header: fc.option(fc.constantFrom('1', '2'), { nil: undefined }),
  query: fc.option(fc.constantFrom('on', 'off'), { nil: undefined }),
});
const requestArb = fc.record({
  path: pathArb,
  method: fc.constantFrom('GET', 'POST'),
  header: fc.option(fc.constantFrom('1', '2'), { nil: undefined }),
  query: fc.option(fc.constantFrom('on', 'off'), { nil: undefined }),
});

t.test('the indexed matcher picks exactly what a linear scan in IR order picks', async (t) => {
  const logger = silentLogger();
  const upstreams = new UpstreamRegistry({ logger, graceMs: 1, connections: 1 });
  t.teardown(() => upstreams.closeAll());
  fc.assert(fc.property(fc.array(routeArb, { minLength: 1, maxLength: 12 }), fc.array(requestArb, { minLength: 1, maxLength: 10 }), (specs, requests) => {
    const routes: HttpRouteIR[] = specs.map((s, i) => ({
      ref: { kind: 'HTTPRoute', namespace: 'ns', name: `r${i}`, ruleIndex: 0, matchIndex: 0 },
      match: {
        // A regex path matches its literal path or anything below it.
        path: { type: s.pathType as 'Exact' | 'PathPrefix' | 'RegularExpression', value: s.pathType === 'RegularExpression' ? `${s.path.replace(/\/$/, '')}(/.*)?` : s.path },
        ...(s.method ? { method: s.method } : {}),
        headers: s.header ? [{ type: 'Exact', name: 'x-h', value: s.header }] : [],
        queryParams: s.query ? [{ type: 'Exact', name: 'q', value: s.query }] : [],
      },
      action: { filters: [], backends: [] },
    }));
    const table: RouteTable = {
      version: 'p',
      ports: [{ address: '127.0.0.1', port: 1, protocol: 'HTTP', listeners: [{ id: 'l', gateway: { namespace: 'ns', name: 'g' }, name: 'l', protocol: 'HTTP', virtualHosts: [{ hostname: '*', routes }], l4Routes: [] }] }],
      clusters: {},
    };
    upstreams.begin();
    const port = [...compileTable(table, { logger, upstreams, tlsCache: new TlsContextCache(), endpointPolicy: 'round-robin', previousBalancers: new Map() }).table.ports.values()][0];
    const index = port.listeners.lookup('any.host')!.vhosts.lookup('any.host')!.routes;
    for (const r of requests) {
      const url = r.query ? `${r.path}?q=${r.query}` : r.path;
      const headers: Record<string, string> = r.header ? { 'x-h': r.header } : {};
      const got = index.match(pathOf(url), url, r.method, headers)?.index ?? -1;
      const want = naiveMatch(routes, url, r.method, headers);
      if (got !== want) throw new Error(`${r.method} ${url} ${JSON.stringify(headers)}: index picked ${got}, linear scan ${want}`);
    }
  }), { numRuns: 400 });
  t.pass('400 random tables agree');
});
