import fc from 'fast-check';
import t from 'tap';
import type { HttpRouteIR } from '../../src/translate/ir.js';
import { compareEntries } from '../../src/translate/precedence.js';
import type { HttpEntry } from '../../src/translate/types.js';

const entryArb: fc.Arbitrary<HttpEntry> = fc
  .record({
    pathType: fc.constantFrom('Exact', 'PathPrefix', 'RegularExpression'),
    path: fc.constantFrom('/', '/a', '/a/b', '/ab', '/abc', '/x/y/z'),
    method: fc.option(fc.constantFrom('GET', 'POST'), { nil: undefined }),
    headers: fc.integer({ min: 0, max: 3 }),
    query: fc.integer({ min: 0, max: 3 }),
    hostname: fc.constantFrom('*', 'a.example.com', '*.example.com', '*.com'),
    created: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    namespace: fc.constantFrom('a', 'a-b', 'b'),
    name: fc.constantFrom('r1', 'r2'),
    kind: fc.constantFrom('HTTPRoute' as const, 'GRPCRoute' as const),
    ruleIndex: fc.integer({ min: 0, max: 3 }),
    matchIndex: fc.integer({ min: -1, max: 3 }),
  })
  .map((r) => {
    const ir: HttpRouteIR = {
      ref: { kind: r.kind, namespace: r.namespace, name: r.name, ruleIndex: r.ruleIndex, matchIndex: r.matchIndex },
      match: {
        path: { type: r.pathType, value: r.path },
        ...(r.method ? { method: r.method } : {}),
        headers: Array.from({ length: r.headers }, (_, i) => ({ type: 'Exact' as const, name: `h${i}`, value: 'v' })),
        queryParams: Array.from({ length: r.query }, (_, i) => ({ type: 'Exact' as const, name: `q${i}`, value: 'v' })),
      },
      action: { filters: [], backends: [] },
    };
    return { hostname: r.hostname, created: r.created, ir };
  });

/** Entries that differ in route identity, rule or match (as real tables do: one entry per route/rule/match/hostname). */
function distinct(list: readonly HttpEntry[]): HttpEntry[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = JSON.stringify([e.ir.ref, e.hostname, e.ir.match.path.value]);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

t.test('the order is total and antisymmetric', (t) => {
  fc.assert(
    fc.property(entryArb, entryArb, (a, b) => {
      const ab = compareEntries(a, b);
      const ba = compareEntries(b, a);
      if (Math.sign(ab) !== -Math.sign(ba)) return false;
      const same = JSON.stringify([a.ir.ref, a.hostname, a.ir.match.path.value]) === JSON.stringify([b.ir.ref, b.hostname, b.ir.match.path.value]);
      return same || ab !== 0;
    }),
    { numRuns: 2000 },
  );
  t.end();
});

t.test('the order is transitive', (t) => {
  fc.assert(
    fc.property(entryArb, entryArb, entryArb, (a, b, c) => {
      if (compareEntries(a, b) <= 0 && compareEntries(b, c) <= 0) return compareEntries(a, c) <= 0;
      return true;
    }),
    { numRuns: 3000 },
  );
  t.end();
});

t.test('sorting does not depend on the input order', (t) => {
  fc.assert(
    fc.property(
      fc.array(entryArb, { maxLength: 25 }).chain((raw) => {
        const list = distinct(raw);
        return fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }));
      }),
      ([list, shuffled]) => {
        const a = [...list].sort(compareEntries);
        const b = [...shuffled].sort(compareEntries);
        return a.every((e, i) => e === b[i]);
      },
    ),
    { numRuns: 500 },
  );
  t.end();
});

t.test('spec precedence criteria, in order', (t) => {
  const mk = (over: Partial<{ type: 'Exact' | 'PathPrefix' | 'RegularExpression'; path: string; method: string; headers: number; query: number; created: number; ns: string; name: string; rule: number; host: string }>): HttpEntry => ({
    hostname: over.host ?? '*',
    created: over.created,
    ir: {
      ref: { kind: 'HTTPRoute', namespace: over.ns ?? 'default', name: over.name ?? 'r', ruleIndex: over.rule ?? 0, matchIndex: 0 },
      match: {
        path: { type: over.type ?? 'PathPrefix', value: over.path ?? '/' },
        ...(over.method ? { method: over.method } : {}),
        headers: Array.from({ length: over.headers ?? 0 }, (_, i) => ({ type: 'Exact' as const, name: `h${i}`, value: 'v' })),
        queryParams: Array.from({ length: over.query ?? 0 }, (_, i) => ({ type: 'Exact' as const, name: `q${i}`, value: 'v' })),
      },
      action: { filters: [], backends: [] },
    },
  });
  const before = (a: HttpEntry, b: HttpEntry, what: string): void => {
    t.ok(compareEntries(a, b) < 0, what);
    t.ok(compareEntries(b, a) > 0, `${what} (reversed)`);
  };
  before(mk({ type: 'Exact', path: '/a' }), mk({ type: 'PathPrefix', path: '/a/b/c/d', headers: 3, method: 'GET' }), 'Exact beats any PathPrefix');
  before(mk({ path: '/abc' }), mk({ path: '/ab', method: 'GET', headers: 2 }), 'longer prefix beats method and headers');
  before(mk({ path: '/a', method: 'GET' }), mk({ path: '/a', headers: 3, query: 3 }), 'method beats headers');
  before(mk({ path: '/a', headers: 2 }), mk({ path: '/a', headers: 1, query: 3 }), 'more headers beat query params');
  before(mk({ path: '/a', query: 2 }), mk({ path: '/a', query: 1 }), 'more query params');
  before(mk({ host: 'a.example.com', name: 'z' }), mk({ host: '*.example.com', name: 'a' }), 'exact hostname breaks a match tie');
  before(mk({ created: 1, name: 'z' }), mk({ created: 2, name: 'a' }), 'older route first');
  before(mk({ created: 5, name: 'z' }), mk({ name: 'a' }), 'a route with a timestamp before one without');
  before(mk({ ns: 'a-b', name: 'x' }), mk({ ns: 'a', name: 'x' }), '"{namespace}/{name}" alphabetical');
  before(mk({ rule: 0 }), mk({ rule: 1 }), 'rule order');
  t.end();
});
