import t from 'tap';
import { SmoothWeighted } from '../../src/dataplane/balancer.js';
import { applyHeaderModifier, buildRequestHeaders, compileHeaderModifier, responseHeadersFromObject } from '../../src/dataplane/headers.js';
import { HostIndex, normalizeHost } from '../../src/dataplane/hostindex.js';
import { modifyPath, pathHasPrefix, pathOf, queryParam, replacePrefix, splitTarget } from '../../src/dataplane/paths.js';
import { redirectLocation, type RedirectIR } from '../../src/dataplane/redirect.js';
import { compileCors, originAllowed } from '../../src/dataplane/cors.js';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { eventually } from './fixtures/helpers.js';
import { Registry } from 'prom-client';
import { registerAccessLogMetrics } from '../../src/dataplane/metrics.js';
import { AccessLogWriter, formatEntry, isoTime, jsonString, microsAsMillis, parseAccessLogDestination } from '../../src/dataplane/accesslog.js';

t.test('ReplacePrefixMatch follows the spec table', async (t) => {
  // [request path, prefix, replacement, expected] — the rows of the Gateway API spec plus the brief's examples.
  const rows: [string, string, string, string][] = [
    ['/foo/bar', '/foo', '/xyz', '/xyz/bar'],
    ['/foo/bar', '/foo', '/xyz/', '/xyz/bar'],
    ['/foo/bar', '/foo/', '/xyz', '/xyz/bar'],
    ['/foo/bar', '/foo/', '/xyz/', '/xyz/bar'],
    ['/foo', '/foo', '/xyz', '/xyz'],
    ['/foo/', '/foo', '/xyz', '/xyz/'],
    ['/foo/bar', '/foo', '', '/bar'],
    ['/foo/', '/foo', '', '/'],
    ['/foo', '/foo', '', '/'],
    ['/foo/', '/foo', '/', '/'],
    ['/foo', '/foo', '/', '/'],
    ['/foo/baz', '/foo', '/bar', '/bar/baz'],
    ['/foo/baz', '/foo', '/', '/baz'],
    ['/anything', '/', '/prefix', '/prefix/anything'],
    ['/', '/', '/prefix', '/prefix/'],
    ['/foobar', '/foo', '/xyz', '/foobar'],
  ];
  for (const [path, prefix, repl, want] of rows) {
    t.equal(replacePrefix(path, prefix, repl), want, `${path} prefix ${prefix} -> ${JSON.stringify(repl)}`);
  }
  t.equal(modifyPath('/a/b', { type: 'ReplaceFullPath', value: '/full' }), '/full');
  t.equal(modifyPath('/a/b', { type: 'ReplacePrefixMatch', value: '/z', prefix: '/a' }), '/z/b');
});

t.test('PathPrefix matches by element', async (t) => {
  t.ok(pathHasPrefix('/foo', '/foo'));
  t.ok(pathHasPrefix('/foo/', '/foo'));
  t.ok(pathHasPrefix('/foo/bar', '/foo/'));
  t.notOk(pathHasPrefix('/foobar', '/foo'));
  t.ok(pathHasPrefix('/anything', '/'));
});

t.test('target splitting and query parameters', async (t) => {
  t.same(splitTarget('/a/b?x=1&y=2'), { path: '/a/b', query: '?x=1&y=2' });
  t.same(splitTarget('http://h.example/p?q=1'), { path: '/p', query: '?q=1' });
  t.same(splitTarget('http://h.example'), { path: '/', query: '' });
  t.equal(pathOf('/x?y'), '/x');
  t.equal(queryParam('/p?a=1&b=two&a=3', 'a'), '1', 'first value wins');
  t.equal(queryParam('/p?a=1&b=two', 'b'), 'two');
  t.equal(queryParam('/p?A=1', 'a'), undefined, 'names are case-sensitive');
  t.equal(queryParam('/p?ab=1', 'a'), undefined);
  t.equal(queryParam('/p?flag', 'flag'), '');
  t.equal(queryParam('/p?v=hello%20world+x', 'v'), 'hello world x');
  t.equal(queryParam('/p', 'a'), undefined);
});

t.test('redirect Location port derivation', async (t) => {
  const req = (listenerPort: number, scheme = 'http') => ({ scheme, host: 'example.com', listenerPort, path: '/p', query: '?q=1' });
  const f = (x: Partial<RedirectIR>): RedirectIR => ({ type: 'RequestRedirect', statusCode: 302, ...x });
  const rows: [string, RedirectIR, ReturnType<typeof req>, string][] = [
    ['scheme https, no port -> 443 omitted', f({ scheme: 'https' }), req(80), 'https://example.com/p?q=1'],
    ['scheme https from listener 8080 -> 443 omitted', f({ scheme: 'https' }), req(8080), 'https://example.com/p?q=1'],
    ['scheme http from https listener 8443 -> 80 omitted', f({ scheme: 'http' }), req(8443, 'https'), 'http://example.com/p?q=1'],
    ['scheme https with explicit port 8443', f({ scheme: 'https', port: 8443 }), req(80), 'https://example.com:8443/p?q=1'],
    ['explicit port 443 with scheme https omitted', f({ scheme: 'https', port: 443 }), req(80), 'https://example.com/p?q=1'],
    ['hostname only keeps the listener port', f({ hostname: 'other.example' }), req(8080), 'http://other.example:8080/p?q=1'],
    ['hostname only on port 80 omits it', f({ hostname: 'other.example' }), req(80), 'http://other.example/p?q=1'],
    ['hostname only on https 443 omits it', f({ hostname: 'other.example' }), req(443, 'https'), 'https://other.example/p?q=1'],
    ['port only', f({ port: 9090 }), req(80), 'http://example.com:9090/p?q=1'],
    ['port 80 on http omitted', f({ port: 80 }), req(8080), 'http://example.com/p?q=1'],
    ['port 80 with https scheme shown', f({ scheme: 'https', port: 80 }), req(80), 'https://example.com:80/p?q=1'],
    ['full path', f({ path: { type: 'ReplaceFullPath', value: '/new' } }), req(80), 'http://example.com/new?q=1'],
    ['prefix path', f({ path: { type: 'ReplacePrefixMatch', value: '/v2', prefix: '/p' } }), req(80), 'http://example.com/v2?q=1'],
    ['nothing set: same URL on the listener port', f({}), req(8080), 'http://example.com:8080/p?q=1'],
  ];
  for (const [name, filter, r, want] of rows) t.equal(redirectLocation(filter, r), want, name);
});

t.test('host normalisation and host index', async (t) => {
  t.equal(normalizeHost('Foo.Example.COM:8080'), 'foo.example.com');
  t.equal(normalizeHost('example.com.'), 'example.com');
  t.equal(normalizeHost('[::1]:80'), '[::1]');
  t.equal(normalizeHost(undefined), '');
  const idx = new HostIndex<string>();
  idx.add('foo.example.com', 'exact');
  idx.add('*.example.com', 'wild');
  idx.add('*.a.example.com', 'wild-longer');
  idx.add(undefined, 'any');
  t.equal(idx.lookup('foo.example.com'), 'exact');
  t.equal(idx.lookup('bar.example.com'), 'wild');
  t.equal(idx.lookup('x.y.example.com'), 'wild', 'a wildcard covers several labels');
  t.equal(idx.lookup('x.a.example.com'), 'wild-longer', 'longest suffix first');
  t.equal(idx.lookup('example.com'), 'any', 'the wildcard needs at least one label');
  t.equal(idx.lookup('other.org'), 'any');
  const noCatchAll = new HostIndex<string>();
  noCatchAll.add('*.example.com', 'w');
  t.equal(noCatchAll.lookup('other.org'), undefined);
});

t.test('smooth weighted round robin', async (t) => {
  const p = new SmoothWeighted(['a', 'b'], [95, 5]);
  for (let window = 0; window < 10; window++) {
    const counts: Record<string, number> = { a: 0, b: 0 };
    for (let i = 0; i < 100; i++) counts[p.pick()!]++;
    t.same(counts, { a: 95, b: 5 }, `window ${window} is exactly 95/5`);
  }
  const spread = new SmoothWeighted(['a', 'b'], [1, 1]);
  t.same([spread.pick(), spread.pick(), spread.pick(), spread.pick()], ['a', 'b', 'a', 'b']);
  const zero = new SmoothWeighted(['a', 'b'], [0, 3]);
  for (let i = 0; i < 10; i++) t.equal(zero.pick(), 'b');
  t.equal(new SmoothWeighted(['a'], [0]).pick(), undefined, 'all zero -> nothing');
  t.equal(new SmoothWeighted([], []).pick(), undefined);
});

t.test('request header building strips hop-by-hop headers', async (t) => {
  const raw = [
    'Host', 'example.com', 'Connection', 'keep-alive, X-Secret', 'Keep-Alive', 'timeout=5', 'X-Secret', 'drop me',
    'TE', 'trailers', 'Transfer-Encoding', 'chunked', 'Upgrade', 'h2c', 'Proxy-Connection', 'x', 'HTTP2-Settings', 'y',
    'X-Forwarded-For', '10.0.0.1', 'X-Forwarded-Proto', 'https', 'Expect', '100-continue', 'Content-Length', '3',
    'content-length', '3', 'Accept', '*/*',
  ];
  const h = buildRequestHeaders(raw, 'example.com', '127.0.0.9', 'http');
  const pairs: string[] = [];
  for (let i = 0; i < h.length; i += 2) pairs.push(`${h[i].toLowerCase()}: ${h[i + 1]}`);
  t.same(pairs, [
    'host: example.com', 'te: trailers', 'content-length: 3', 'accept: */*',
    'x-forwarded-for: 10.0.0.1, 127.0.0.9', 'x-forwarded-proto: http', 'x-forwarded-host: example.com',
  ]);
  const teGzip = buildRequestHeaders(['TE', 'gzip'], 'h', '1.1.1.1', 'https');
  t.notOk(teGzip.some((x) => x.toLowerCase() === 'te'), 'te other than trailers is dropped');
});

t.test('header modifiers: remove, set, add', async (t) => {
  const h = ['host', 'h', 'X-Keep', '1', 'X-Replace', 'old', 'x-replace', 'old2', 'X-Gone', 'bye', 'X-Append', 'a'];
  applyHeaderModifier(h, compileHeaderModifier({
    set: [{ name: 'X-Replace', value: 'new' }],
    add: [{ name: 'x-append', value: 'b' }, { name: 'X-New', value: 'n' }],
    remove: ['x-gone'],
  }));
  t.same(h, ['host', 'h', 'X-Keep', '1', 'X-Append', 'a,b', 'X-Replace', 'new', 'X-New', 'n']);
  const cookies = ['set-cookie', 'a=1'];
  applyHeaderModifier(cookies, compileHeaderModifier({ set: [], add: [{ name: 'Set-Cookie', value: 'b=2' }], remove: [] }));
  t.same(cookies, ['set-cookie', 'a=1', 'Set-Cookie', 'b=2'], 'Set-Cookie gets its own line');
  const injected = ['host', 'h'];
  applyHeaderModifier(injected, compileHeaderModifier({
    set: [{ name: 'x-evil', value: 'a\r\nx-injected: 1' }, { name: 'bad name', value: 'v' }],
    add: [{ name: 'x-ok', value: 'fine' }],
    remove: [],
  }));
  t.same(injected, ['host', 'h', 'x-ok', 'fine'], 'values with CR/LF and invalid names are never written');
  const resp = responseHeadersFromObject({ 'content-type': 'text/plain', connection: 'keep-alive, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', 'set-cookie': ['a', 'b'], 'transfer-encoding': 'chunked' });
  t.same(resp, ['content-type', 'text/plain', 'set-cookie', 'a', 'set-cookie', 'b']);
});

t.test('CORS origin matching', async (t) => {
  const c = compileCors({ type: 'CORS', allowOrigins: ['https://*.example.com', 'http://app.test:8080'], allowCredentials: false, allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAge: 5 });
  t.ok(originAllowed(c, 'https://a.example.com'));
  t.ok(originAllowed(c, 'https://a.b.example.com'));
  t.ok(originAllowed(c, 'https://a.example.com:443'), 'default port is implied');
  t.notOk(originAllowed(c, 'https://example.com'));
  t.notOk(originAllowed(c, 'http://a.example.com'));
  t.ok(originAllowed(c, 'http://app.test:8080'));
  t.notOk(originAllowed(c, 'http://app.test'));
});

t.test('access log time stamps', async (t) => {
  for (const ms of [0, 999, 1000, 1_700_000_000_123, 1_700_000_000_124, 1_700_000_001_000, 1_700_000_000_123.7]) {
    t.equal(isoTime(ms), new Date(Math.floor(ms)).toISOString(), `${ms}`);
  }
});

t.test('access log lines are the JSON of their entry, built without JSON.stringify of an object', async (t) => {
  const entry = {
    time: '2026-01-01T00:00:00.000Z', listener: 'ns/gw/l', route: 'ns/r/0', method: 'GET', host: 'h', path: '/p?"q"', status: 200,
    bytes: 5, duration_ms: 1.5, upstream: '127.0.0.1:1', reason: '', upstream_error: '',
  };
  t.equal(formatEntry(entry), JSON.stringify(entry));
  const l4 = { ...entry, method: '', path: '', status: 0, protocol: 'tcp', bytes_received: 7, relay: 'kernel' as const };
  t.same(JSON.parse(formatEntry(l4)), l4, 'L4 fields are appended');
  for (const s of ['', 'plain', 'quote"s', 'back\\slash', 'ctl\u0001\n\t', 'del\u007f', 'latin1 \u00e9\u00ff', 'emoji \ud83d\ude00', 'lone \ud800 x', 'lone \udfff']) {
    const e = { ...entry, path: s, host: s, method: s };
    t.equal(formatEntry(e), JSON.stringify(e), JSON.stringify(s));
  }
  fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string(), fc.nat(), fc.double({ noNaN: true, noDefaultInfinity: true }), (path, host, bytes, d) => {
    const e = { ...entry, path, host, bytes, duration_ms: d };
    return formatEntry(e) === JSON.stringify(e);
  }));
  t.equal(jsonString('a"b'), '"a\\"b"');
  for (const us of [0, 1, 10, 100, 999, 1000, 1500, 1234, 120_000, 86_400_000_123]) t.equal(microsAsMillis(us), String(us / 1000), `${us} us`);
  fc.assert(fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), (ms) => {
    const us = Math.round(ms * 1000);
    return microsAsMillis(us) === JSON.stringify(Math.round(ms * 1000) / 1000);
  }));
});

t.test('--access-log values', async (t) => {
  t.equal(parseAccessLogDestination('off'), 'off');
  t.equal(parseAccessLogDestination('stdout'), 'stdout');
  t.same(parseAccessLogDestination('/var/log/x.log'), { path: '/var/log/x.log' });
  t.throws(() => parseAccessLogDestination(''));
  t.equal(AccessLogWriter.open('off'), undefined, 'off: no writer');
});

t.test('access log writer: batched asynchronous appends to a file, flushed on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-accesslog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'access.log');
  writeFileSync(path, 'existing\n');
  const w = AccessLogWriter.open({ path }, { flushMs: 20, flushBytes: 1 << 20 })!;
  w.line('{"n":1}');
  w.line('{"n":2}');
  t.equal(readFileSync(path, 'utf8'), 'existing\n', 'nothing written synchronously');
  await eventually(() => readFileSync(path, 'utf8').includes('{"n":2}'), 3_000, 'the timed batch');
  t.equal(readFileSync(path, 'utf8'), 'existing\n{"n":1}\n{"n":2}\n', 'appended, one line each, in order');
  // A batch reaching flushBytes goes out without waiting for the timer.
  const big = new AccessLogWriter(openSync(join(dir, 'big.log'), 'a'), true, { flushMs: 60_000, flushBytes: 100 });
  for (let i = 0; i < 20; i++) big.line(`{"i":${i}}`);
  await eventually(() => readFileSync(join(dir, 'big.log'), 'utf8').length >= 100, 3_000, 'the size-triggered batch');
  await big.close();
  t.equal(readFileSync(join(dir, 'big.log'), 'utf8').trimEnd().split('\n').length, 20, 'close writes the rest, in order');
  t.same(readFileSync(join(dir, 'big.log'), 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { i: number }).i), [...Array(20).keys()]);
  for (let i = 3; i < 6; i++) w.line(`{"n":${i}}`);
  await w.close();
  t.equal(readFileSync(path, 'utf8'), 'existing\n{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n{"n":5}\n', 'close flushes what the timer had not');
  w.line('{"after":"close"}');
  t.notMatch(readFileSync(path, 'utf8'), /after/, 'lines after close are dropped');
});

t.test('access log writer: a destination that cannot keep up loses lines, not memory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-accesslog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const w = new AccessLogWriter(openSync(join(dir, 'slow.log'), 'a'), true, { flushMs: 60_000, flushBytes: 1 << 20, maxPendingBytes: 50 });
  for (let i = 0; i < 20; i++) w.line(`{"i":${i}}`);
  t.ok(w.dropped > 0, `dropped ${w.dropped}`);
  await w.close();
  const kept = readFileSync(join(dir, 'slow.log'), 'utf8').trimEnd().split('\n');
  t.equal(kept.length + w.dropped, 20, 'every line is either written or counted as dropped');
});

t.test('access log writer: dropped lines are counted in sluice_access_log_dropped_lines_total', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-accesslog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const w = new AccessLogWriter(openSync(join(dir, 'slow.log'), 'a'), true, { flushMs: 60_000, flushBytes: 1 << 20, maxPendingBytes: 50 });
  const registry = new Registry();
  registerAccessLogMetrics(registry, w);
  const scrape = async (): Promise<number> => Number(/^sluice_access_log_dropped_lines_total (\d+)$/m.exec(await registry.metrics())?.[1]);
  t.equal(await scrape(), 0, 'nothing dropped yet');
  for (let i = 0; i < 20; i++) w.line(`{"i":${i}}`);
  t.ok(w.dropped > 0);
  t.equal(await scrape(), w.dropped, 'the scrape reports every dropped line');
  t.equal(await scrape(), w.dropped, 'and does not count them twice');
  await w.close();
});
