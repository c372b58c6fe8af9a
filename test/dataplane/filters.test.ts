import t, { type Test } from 'tap';
import type { HttpActionIR, HttpFilterIR, HttpMatchIR } from '../../src/translate/ir.js';
import { backend, cluster, eventually, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost } from './fixtures/helpers.js';

/** One route (match + action) in front of echo backends "main" and "mirror". */
async function setup(t: Test, match: Partial<HttpMatchIR>, action: Partial<HttpActionIR>) {
  const main = await startEcho('main');
  const other = await startEcho('other');
  const mirror = await startEcho('mirror');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await Promise.all([main, other, mirror].map((e) => e.close()));
  });
  await dp.apply(table(
    [port(p, [listener('http', [vhost('*', [route('r', match, { backends: [backend('main')], ...action })])])])],
    [cluster('main', [main.endpoint]), cluster('other', [other.endpoint]), cluster('mirror', [mirror.endpoint])],
  ));
  return { p, log, main, other, mirror };
}

const headerMod = (type: 'RequestHeaderModifier' | 'ResponseHeaderModifier', x: { set?: [string, string][]; add?: [string, string][]; remove?: string[] }): HttpFilterIR => ({
  type,
  set: (x.set ?? []).map(([name, value]) => ({ name, value })),
  add: (x.add ?? []).map(([name, value]) => ({ name, value })),
  remove: x.remove ?? [],
});

t.test('forwarding headers and hop-by-hop stripping', async (t) => {
  const { p, main } = await setup(t, {}, {});
  const r = await request(p, '/x', {
    host: 'svc.example.com:8080',
    headers: { 'x-forwarded-for': '10.1.1.1', connection: 'keep-alive, x-private', 'x-private': 'secret', 'keep-alive': 'timeout=1', 'x-public': 'yes' },
  });
  t.equal(r.status, 200);
  const seen = r.json();
  t.equal(seen.host, 'svc.example.com:8080', 'Host is kept as the client sent it');
  t.same(seen.headers['x-forwarded-for'], ['10.1.1.1, 127.0.0.1'], 'client address appended');
  t.same(seen.headers['x-forwarded-proto'], ['http']);
  t.same(seen.headers['x-forwarded-host'], ['svc.example.com:8080']);
  t.same(seen.headers['x-public'], ['yes']);
  t.notOk(seen.headers['x-private'], 'header named in Connection is not forwarded');
  t.notOk(seen.headers['keep-alive']);
  t.equal(main.seen.length, 1);
});

t.test('RequestHeaderModifier set/add/remove, then per-backend filters', async (t) => {
  const { p } = await setup(t, {}, {
    filters: [headerMod('RequestHeaderModifier', { set: [['X-Set', 'set-value']], add: [['foo', 'bar'], ['X-Append', 'added']], remove: ['x-remove-me'] })],
    backends: [backend('main', 1, [headerMod('RequestHeaderModifier', { add: [['x-order', 'backend']], set: [['x-set', 'backend-wins']] })])],
  });
  const seen = (await request(p, '/', { headers: { 'X-Set': 'client', 'x-append': 'client', 'X-Remove-Me': '1', 'x-order': 'client' } })).json();
  t.same(seen.headers['x-set'], ['backend-wins'], 'backend filters run after rule filters');
  t.same(seen.headers.foo, ['bar']);
  t.same(seen.headers['x-append'], ['client,added'], 'add appends to an existing value');
  t.notOk(seen.headers['x-remove-me']);
  t.same(seen.headers['x-order'], ['client,backend']);
});

t.test('ResponseHeaderModifier', async (t) => {
  const { p } = await setup(t, {}, {
    filters: [headerMod('ResponseHeaderModifier', { set: [['x-resp-set', 'gateway']], add: [['x-resp-add', 'two']], remove: ['x-resp-remove'] })],
  });
  const r = await request(p, '/', { headers: { 'x-echo-set-header': 'x-resp-set:backend,x-resp-add:one,x-resp-remove:gone' } });
  t.equal(r.status, 200);
  t.equal(r.headers['x-resp-set'], 'gateway');
  t.equal(r.headers['x-resp-add'], 'one,two');
  t.notOk(r.headers['x-resp-remove']);
});

t.test('RequestRedirect through the proxy', async (t) => {
  const { p, main, log } = await setup(t, { path: { type: 'PathPrefix', value: '/old' } }, {
    filters: [{ type: 'RequestRedirect', hostname: 'new.example.com', path: { type: 'ReplacePrefixMatch', value: '/new', prefix: '/old' }, statusCode: 301 }],
  });
  const r = await request(p, '/old/page?x=1', { host: 'example.com' });
  t.equal(r.status, 301);
  t.equal(r.headers.location, `http://new.example.com:${p}/new/page?x=1`, 'hostname-only redirect keeps the listener port');
  t.equal(main.seen.length, 0, 'a redirect never reaches a backend');
  t.equal(log[0].reason, 'redirect');
});

t.test('RequestRedirect scheme https drops the port', async (t) => {
  const { p } = await setup(t, {}, { filters: [{ type: 'RequestRedirect', scheme: 'https', statusCode: 302 }] });
  const r = await request(p, '/a?b=c', { host: 'Example.com' });
  t.equal(r.status, 302);
  t.equal(r.headers.location, 'https://example.com/a?b=c');
});

t.test('URLRewrite hostname and path', async (t) => {
  const { p } = await setup(t, { path: { type: 'PathPrefix', value: '/foo' } }, {
    filters: [{ type: 'URLRewrite', hostname: 'rewritten.internal', path: { type: 'ReplacePrefixMatch', value: '/bar', prefix: '/foo' } }],
  });
  const seen = (await request(p, '/foo/baz?q=1', { host: 'public.example.com' })).json();
  t.equal(seen.host, 'rewritten.internal');
  t.equal(seen.path, '/bar/baz?q=1');
  t.same(seen.headers['x-forwarded-host'], ['public.example.com'], 'X-Forwarded-Host keeps the original host');
  const root = (await request(p, '/foo', { host: 'public.example.com' })).json();
  t.equal(root.path, '/bar');
});

t.test('URLRewrite ReplaceFullPath and prefix to /', async (t) => {
  const full = await setup(t, { path: { type: 'PathPrefix', value: '/foo' } }, {
    filters: [{ type: 'URLRewrite', path: { type: 'ReplaceFullPath', value: '/replaced' } }],
  });
  t.equal((await request(full.p, '/foo/a/b?z=2')).json().path, '/replaced?z=2');
  const strip = await setup(t, { path: { type: 'PathPrefix', value: '/foo' } }, {
    filters: [{ type: 'URLRewrite', path: { type: 'ReplacePrefixMatch', value: '/', prefix: '/foo' } }],
  });
  t.equal((await request(strip.p, '/foo/baz')).json().path, '/baz');
  t.equal((await request(strip.p, '/foo')).json().path, '/');
});

t.test('RequestMirror sends a copy with the body and never affects the response', async (t) => {
  const { p, main, mirror } = await setup(t, {}, {
    filters: [{ type: 'RequestMirror', cluster: 'mirror', fraction: 1 }],
  });
  const r = await request(p, '/m?x=1', { method: 'POST', body: 'payload-123', headers: { 'content-type': 'text/plain' } });
  t.equal(r.status, 200);
  t.equal(r.json().name, 'main', 'the response comes from the main backend');
  t.equal(r.json().body, 'payload-123');
  await eventually(() => mirror.seen.length === 1);
  t.equal(mirror.seen[0].path, '/m?x=1');
  t.equal(mirror.seen[0].body, 'payload-123', 'the mirror got the body too');
  t.equal(main.seen.length, 1);
});

t.test('RequestMirror to a dead cluster and a zero fraction', async (t) => {
  const dead = await freePort();
  const main = await startEcho('main');
  const mirror = await startEcho('mirror');
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await main.close();
    await mirror.close();
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [
    route('dead', { path: { type: 'PathPrefix', value: '/dead' } }, { filters: [{ type: 'RequestMirror', cluster: 'dead', fraction: 1 }], backends: [backend('main')] }),
    route('never', {}, { filters: [{ type: 'RequestMirror', cluster: 'mirror', fraction: 0 }], backends: [backend('main')] }),
  ])])])], [cluster('main', [main.endpoint]), cluster('mirror', [mirror.endpoint]), cluster('dead', [{ address: '127.0.0.1', port: dead }])]));
  t.equal((await request(p, '/dead')).status, 200, 'a failing mirror does not fail the request');
  for (let i = 0; i < 20; i++) t.equal((await request(p, '/x')).status, 200);
  t.equal(mirror.seen.length, 0, 'fraction 0 never mirrors');
});

t.test('CORS preflight and actual request', async (t) => {
  const { p, main } = await setup(t, {}, {
    filters: [{
      type: 'CORS', allowOrigins: ['https://*.example.com'], allowCredentials: true, allowMethods: ['GET', 'PUT'],
      allowHeaders: ['x-custom'], exposeHeaders: ['x-exposed'], maxAge: 60,
    }],
  });
  const pre = await request(p, '/', { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-custom' } });
  t.equal(pre.status, 200);
  t.equal(pre.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(pre.headers['access-control-allow-methods'], 'GET, PUT');
  t.equal(pre.headers['access-control-allow-headers'], 'x-custom');
  t.equal(pre.headers['access-control-allow-credentials'], 'true');
  t.equal(pre.headers['access-control-max-age'], '60');
  t.equal(pre.headers['access-control-expose-headers'], 'x-exposed', 'preflights carry expose-headers too (HTTPRouteCORS)');
  t.equal(main.seen.length, 0, 'preflight answered by the gateway');
  const denied = await request(p, '/', { method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'PUT' } });
  t.notOk(denied.headers['access-control-allow-origin']);
  const actual = await request(p, '/', { headers: { origin: 'https://app.example.com' } });
  t.equal(actual.status, 200);
  t.equal(actual.headers['access-control-allow-origin'], 'https://app.example.com');
  t.equal(actual.headers['access-control-expose-headers'], 'x-exposed');
  const noCors = await request(p, '/', { headers: { origin: 'https://evil.test' } });
  t.equal(noCors.status, 200);
  t.notOk(noCors.headers['access-control-allow-origin']);
});

t.test('direct response and a rule without backends', async (t) => {
  const { p, log } = await setup(t, { path: { type: 'PathPrefix', value: '/direct' } }, { directResponse: { status: 500, body: 'broken filter\n' } });
  const r = await request(p, '/direct');
  t.equal(r.status, 500);
  t.equal(r.body, 'broken filter\n');
  t.equal(log[0].reason, 'direct_response');
  const none = await setup(t, {}, { backends: [] });
  const r2 = await request(none.p, '/');
  t.equal(r2.status, 500);
  t.equal(none.log[0].reason, 'no_backends');
});

t.test('request and response bodies stream through', async (t) => {
  const { p } = await setup(t, {}, {});
  const big = 'x'.repeat(3 * 1024 * 1024);
  const r = await request(p, '/upload', { method: 'PUT', body: big });
  t.equal(r.status, 200);
  t.equal(r.json().body.length, big.length, 'a 3 MiB body arrives whole');
});

