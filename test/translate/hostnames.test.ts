import t from 'tap';
import { compareHostSpecificity, hostnameCovers, intersectHostnames, normalizeHostname } from '../../src/translate/hostnames.js';

t.test('intersectHostnames follows the HTTPRoute hostnames rules', (t) => {
  const cases: [string | undefined, string | undefined, string | undefined][] = [
    [undefined, undefined, '*'],
    [undefined, 'a.example.com', 'a.example.com'],
    ['a.example.com', undefined, 'a.example.com'],
    ['test.example.com', 'test.example.com', 'test.example.com'],
    ['test.example.com', '*.example.com', 'test.example.com'],
    ['test.example.com', 'other.example.com', undefined],
    ['*.example.com', 'test.example.com', 'test.example.com'],
    ['*.example.com', 'foo.test.example.com', 'foo.test.example.com'],
    ['*.example.com', '*.example.com', '*.example.com'],
    ['*.example.com', '*.test.example.com', '*.test.example.com'],
    ['*.example.com', '*.com', '*.example.com'],
    ['*.example.com', 'example.com', undefined],
    ['*.example.com', 'test.example.net', undefined],
    ['example.com', '*.example.com', undefined],
    ['*.specific.com', 'very.specific.com', 'very.specific.com'],
    ['*.wildcard.io', 'wildcard.io', undefined],
  ];
  for (const [listener, route, want] of cases) {
    t.equal(intersectHostnames(listener, route), want, `${listener ?? '(none)'} ∩ ${route ?? '(none)'}`);
  }
  t.end();
});

t.test('hostnameCovers', (t) => {
  t.ok(hostnameCovers('*', 'a.b'));
  t.ok(hostnameCovers('*.com', 'example.com'));
  t.ok(hostnameCovers('*.com', '*.example.com'));
  t.ok(hostnameCovers('a.b', 'a.b'));
  t.notOk(hostnameCovers('a.b', 'c.b'));
  t.notOk(hostnameCovers('*.example.com', 'example.com'));
  t.notOk(hostnameCovers('*.example.com', '*'));
  t.notOk(hostnameCovers('*.a.example.com', '*.example.com'));
  t.end();
});

t.test('compareHostSpecificity: exact, then more labels, then catch-all', (t) => {
  const sorted = ['*', '*.example.com', undefined, 'b.example.com', '*.foo.example.com', 'a.example.com'].sort(compareHostSpecificity);
  t.same(sorted, ['a.example.com', 'b.example.com', '*.foo.example.com', '*.example.com', '*', undefined]);
  t.end();
});

t.test('normalizeHostname', (t) => {
  t.equal(normalizeHostname('Foo.Example.COM.'), 'foo.example.com');
  t.end();
});
