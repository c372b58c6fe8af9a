/**
 * Micro-benchmark of the compiled matcher (no sockets): table compile time and
 * ns per lookup for Gateway-shaped tables. Imports the build in dist/.
 *
 *   npm run build && node benchmarks/micro/match.ts [iterations]
 */
import type { IncomingHttpHeaders } from 'node:http';
import { compileTable } from '../../dist/dataplane/compile.js';
import { TlsContextCache } from '../../dist/dataplane/tls.js';
import { UpstreamRegistry } from '../../dist/dataplane/upstreams.js';
import { normalizeHost } from '../../dist/dataplane/hostindex.js';
import { pathOf } from '../../dist/dataplane/paths.js';
import { silentLogger } from '../../dist/util/log.js';
import type { HttpRouteIR, RouteTable, VirtualHostIR } from '../../src/translate/ir.ts';

const iterations = Number(process.argv[2] ?? 1_000_000);
const backends = [{ cluster: 'c', weight: 1, filters: [] }];
const ref = (name: string, ruleIndex: number) => ({ kind: 'HTTPRoute' as const, namespace: 'default', name, ruleIndex, matchIndex: 0 });

function gatewayShaped(hosts: number): VirtualHostIR[] {
  const out: VirtualHostIR[] = [];
  for (let i = 0; i < hosts; i++) {
    const n = `svc-${i}`;
    out.push({
      hostname: `${n}.example.com`,
      routes: [
        { ref: ref(n, 0), match: { path: { type: 'Exact', value: '/healthz' }, headers: [], queryParams: [] }, action: { filters: [], backends } },
        { ref: ref(n, 1), match: { path: { type: 'PathPrefix', value: '/api/v2' }, headers: [{ type: 'Exact', name: 'x-canary', value: 'true' }], queryParams: [] }, action: { filters: [], backends } },
        { ref: ref(n, 2), match: { path: { type: 'PathPrefix', value: '/api' }, headers: [], queryParams: [] }, action: { filters: [], backends: [{ cluster: 'c', weight: 90, filters: [] }, { cluster: 'c', weight: 10, filters: [] }] } },
        { ref: ref(n, 3), match: { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] }, action: { filters: [], backends } },
      ],
    });
  }
  out.push({ hostname: '*.wild.example.com', routes: [{ ref: ref('wild', 0), match: { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] }, action: { filters: [], backends } }] });
  return out;
}

function manyPrefixes(rules: number): VirtualHostIR[] {
  const routes: HttpRouteIR[] = [];
  // Precedence order: longest prefixes first, like the translator emits.
  for (let i = rules - 1; i >= 0; i--) {
    routes.push({ ref: ref(`p${i}`, 0), match: { path: { type: 'PathPrefix', value: `/svc/${i}` }, headers: [], queryParams: [] }, action: { filters: [], backends } });
  }
  routes.push({ ref: ref('re', 0), match: { path: { type: 'RegularExpression', value: '/re/[a-z]+/[0-9]+' }, headers: [], queryParams: [] }, action: { filters: [], backends } });
  return [{ hostname: 'one.example.com', routes }];
}

function tableOf(vhosts: VirtualHostIR[]): RouteTable {
  return {
    version: 'bench',
    ports: [{ address: '127.0.0.1', port: 1, protocol: 'HTTP', listeners: [{ id: 'default/gw/http', gateway: { namespace: 'default', name: 'gw' }, name: 'http', protocol: 'HTTP', virtualHosts: vhosts, l4Routes: [] }] }],
    clusters: { c: { id: 'c', protocol: 'http1', endpoints: [{ address: '127.0.0.1', port: 2 }] } },
  };
}

function compile(t: RouteTable) {
  const upstreams = new UpstreamRegistry({ logger: silentLogger(), graceMs: 1, connections: 1 });
  upstreams.begin();
  const start = performance.now();
  const result = compileTable(t, { logger: silentLogger(), upstreams, tlsCache: new TlsContextCache(), endpointPolicy: 'round-robin', previousBalancers: new Map() });
  const ms = performance.now() - start;
  void upstreams.closeAll();
  return { port: [...result.table.ports.values()][0], ms };
}

interface Case { name: string; host: string; url: string; method: string; headers: IncomingHttpHeaders; expect: string }

function run(label: string, t: RouteTable, cases: Case[]): void {
  const { port, ms } = compile(t);
  console.log(`${label}: compile ${ms.toFixed(1)} ms`);
  for (const c of cases) {
    const lookup = (): string => {
      const host = normalizeHost(c.host);
      const l = port.listeners.lookup(host);
      const vh = l?.vhosts.lookup(host);
      const r = vh?.routes.match(pathOf(c.url), c.url, c.method, c.headers);
      return r?.name ?? '';
    };
    const got = lookup();
    if (got !== c.expect) throw new Error(`${c.name}: matched ${got}, expected ${c.expect}`);
    for (let i = 0; i < 10_000; i++) lookup();
    const start = process.hrtime.bigint();
    let sink = 0;
    for (let i = 0; i < iterations; i++) sink += lookup().length;
    const ns = Number(process.hrtime.bigint() - start) / iterations;
    console.log(`  ${c.name.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/lookup${sink === 0 ? ' (?)' : ''}`);
  }
}

run('1,000 hosts x 4 rules + a wildcard host', tableOf(gatewayShaped(1000)), [
  { name: 'last host, /api/users (prefix, skips header rule)', host: 'svc-999.example.com', url: '/api/users?id=7', method: 'GET', headers: {}, expect: 'default/svc-999/2' },
  { name: 'last host, /api/v2/x with x-canary header', host: 'svc-999.example.com:8080', url: '/api/v2/x', method: 'GET', headers: { 'x-canary': 'true' }, expect: 'default/svc-999/1' },
  { name: 'exact /healthz', host: 'svc-10.example.com', url: '/healthz', method: 'GET', headers: {}, expect: 'default/svc-10/0' },
  { name: 'wildcard host', host: 'a.b.wild.example.com', url: '/x', method: 'GET', headers: {}, expect: 'default/wild/0' },
]);
run('1 host x 1,000 PathPrefix rules + 1 regex', tableOf(manyPrefixes(1000)), [
  { name: 'prefix /svc/999/items', host: 'one.example.com', url: '/svc/999/items', method: 'GET', headers: {}, expect: 'default/p999/0' },
  { name: 'prefix /svc/0', host: 'one.example.com', url: '/svc/0', method: 'GET', headers: {}, expect: 'default/p0/0' },
  { name: 'regex after 1,000 prefixes', host: 'one.example.com', url: '/re/abc/42', method: 'GET', headers: {}, expect: 'default/re/0' },
]);
const big = performance.now();
compile(tableOf(gatewayShaped(5000)));
console.log(`compile 5,000 hosts x 4 rules: ${(performance.now() - big).toFixed(1)} ms`);
