import t, { type Test } from 'tap';
import type { HttpRouteIR } from '../../src/translate/ir.js';
import { backend, cluster, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost, type Echo } from './fixtures/helpers.js';

/** Every route points at its own echo backend so the response names the route that matched. */
async function setup(t: Test, routes: [string, Parameters<typeof route>[1]][], hostname = '*') {
  const echoes: Echo[] = [];
  const irRoutes: HttpRouteIR[] = [];
  for (const [name, match] of routes) {
    const e = await startEcho(name);
    echoes.push(e);
    irRoutes.push(route(name, match, { backends: [backend(`c-${name}`)] }));
  }
  const { dp, log } = testDataPlane();
  const p = await freePort();
  const report = await dp.apply(table(
    [port(p, [listener('http', [vhost(hostname, irRoutes)])])],
    echoes.map((e) => cluster(`c-${e.name}`, [e.endpoint])),
  ));
  t.same(report.listeners['default/gw/http'], { programmed: true });
  t.teardown(async () => {
    await dp.close();
    await Promise.all(echoes.map((e) => e.close()));
  });
  const hit = async (path: string, opts: Parameters<typeof request>[2] = {}): Promise<string> => {
    const r = await request(p, path, { host: 'example.com', ...opts });
    return r.status === 200 ? r.json().name : String(r.status);
  };
  return { dp, log, port: p, hit };
}

t.test('path matching: exact, prefix by element, regex, and IR order', async (t) => {
  const { hit, log } = await setup(t, [
    ['exact', { path: { type: 'Exact', value: '/exact' } }],
    ['long-prefix', { path: { type: 'PathPrefix', value: '/api/v2' } }],
    ['prefix-slash', { path: { type: 'PathPrefix', value: '/docs/' } }],
    ['regex', { path: { type: 'RegularExpression', value: '/items/[0-9]+' } }],
    ['short-prefix', { path: { type: 'PathPrefix', value: '/api' } }],
    ['root', { path: { type: 'PathPrefix', value: '/' } }],
  ]);
  t.equal(await hit('/exact'), 'exact');
  t.equal(await hit('/exact/'), 'root', 'exact does not match with a trailing slash');
  t.equal(await hit('/exact?x=1'), 'exact', 'query is not part of the path');
  t.equal(await hit('/api/v2'), 'long-prefix');
  t.equal(await hit('/api/v2/users'), 'long-prefix');
  t.equal(await hit('/api/v2x'), 'short-prefix', 'prefix matches whole elements only');
  t.equal(await hit('/api'), 'short-prefix');
  t.equal(await hit('/api/'), 'short-prefix');
  t.equal(await hit('/apix'), 'root');
  t.equal(await hit('/docs'), 'prefix-slash', 'a trailing slash in the prefix is ignored');
  t.equal(await hit('/docs/a'), 'prefix-slash');
  t.equal(await hit('/items/42'), 'regex');
  t.equal(await hit('/items/42/x'), 'root', 'regex is a full match');
  t.equal(await hit('/items/abc'), 'root');
  t.equal(log[0].route, 'default/exact/0');
});

t.test('IR order decides between candidates, not path specificity', async (t) => {
  // The translator sorts by precedence; the data plane must take the first entry that matches.
  const { hit } = await setup(t, [
    ['first-root', { path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'x-pick', value: 'root' }] }],
    ['second-api', { path: { type: 'PathPrefix', value: '/api' } }],
    ['third-regex', { path: { type: 'RegularExpression', value: '/api/.*' } }],
    ['fallback', {}],
  ]);
  t.equal(await hit('/api/x', { headers: { 'x-pick': 'root' } }), 'first-root');
  t.equal(await hit('/api/x'), 'second-api');
  t.equal(await hit('/other'), 'fallback');
});

t.test('header, query and method matches', async (t) => {
  const { hit } = await setup(t, [
    ['hdr-exact', { headers: [{ type: 'Exact', name: 'version', value: '2' }] }],
    ['hdr-regex', { headers: [{ type: 'RegularExpression', name: 'x-user', value: 'adm.n' }] }],
    ['two-headers', { headers: [{ type: 'Exact', name: 'x-a', value: '1' }, { type: 'Exact', name: 'x-b', value: '2' }] }],
    ['query', { queryParams: [{ type: 'Exact', name: 'Env', value: 'canary' }] }],
    ['query-regex', { queryParams: [{ type: 'RegularExpression', name: 'id', value: '[0-9]{3}' }] }],
    ['method', { method: 'POST' }],
    ['any', {}],
  ]);
  t.equal(await hit('/', { headers: { Version: '2' } }), 'hdr-exact', 'header names are case-insensitive');
  t.equal(await hit('/', { headers: { version: '20' } }), 'any', 'header values match exactly');
  t.equal(await hit('/', { headers: { 'x-user': 'admin' } }), 'hdr-regex');
  t.equal(await hit('/', { headers: { 'x-user': 'administrator' } }), 'any', 'header regex is a full match');
  t.equal(await hit('/', { headers: { 'x-a': '1', 'x-b': '2' } }), 'two-headers');
  t.equal(await hit('/', { headers: { 'x-a': '1' } }), 'any', 'every header must match');
  t.equal(await hit('/?Env=canary'), 'query');
  t.equal(await hit('/?env=canary'), 'any', 'query names are case-sensitive');
  t.equal(await hit('/?Env=prod&Env=canary'), 'any', 'first value of a repeated param');
  t.equal(await hit('/?id=123'), 'query-regex');
  t.equal(await hit('/?id=1234'), 'any');
  t.equal(await hit('/', { method: 'POST', body: 'x' }), 'method');
  t.equal(await hit('/', { method: 'PUT', body: 'x' }), 'any');
});

t.test('hosts: listener and virtual host selection, wildcards, isolation', async (t) => {
  const names = ['l-exact', 'l-wild', 'l-any', 'vh-foo', 'vh-wild-longer'];
  const echoes = new Map<string, Echo>();
  for (const n of names) echoes.set(n, await startEcho(n));
  const to = (n: string): HttpRouteIR => route(n, {}, { backends: [backend(`c-${n}`)] });
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await Promise.all([...echoes.values()].map((e) => e.close()));
  });
  await dp.apply(table([port(p, [
    listener('exact', [vhost('api.example.com', [to('l-exact')])], { hostname: 'api.example.com' }),
    listener('wild', [
      vhost('foo.example.com', [to('vh-foo')]),
      vhost('*.a.example.com', [to('vh-wild-longer')]),
      vhost('*.example.com', [to('l-wild')]),
    ], { hostname: '*.example.com' }),
    listener('any', [vhost('only.this.org', [to('l-any')])]),
  ])], names.map((n) => cluster(`c-${n}`, [echoes.get(n)!.endpoint]))));
  const hit = async (host: string): Promise<string> => {
    const r = await request(p, '/', { host });
    return r.status === 200 ? r.json().name : String(r.status);
  };
  t.equal(await hit('api.example.com'), 'l-exact', 'exact listener before wildcard');
  t.equal(await hit('API.Example.com:1234'), 'l-exact', 'host is case-insensitive and the port is ignored');
  t.equal(await hit('foo.example.com'), 'vh-foo', 'exact virtual host');
  t.equal(await hit('x.a.example.com'), 'vh-wild-longer', 'longer wildcard first');
  t.equal(await hit('bar.example.com'), 'l-wild');
  t.equal(await hit('deep.bar.example.com'), 'l-wild');
  t.equal(await hit('only.this.org'), 'l-any', 'catch-all listener');
  t.equal(await hit('example.com'), '404', 'wildcard listener does not take the bare domain; catch-all has no vhost for it');
  t.equal(await hit('other.org'), '404');
  const miss = log.find((e) => e.host === 'other.org');
  t.equal(miss?.reason, 'no_route');
  t.equal(miss?.listener, 'default/gw/any');
});

t.test('no listener for the host gives 404 with reason no_listener', async (t) => {
  const e = await startEcho('e');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await e.close();
  });
  await dp.apply(table([port(p, [listener('l', [vhost('a.test', [route('r', {}, { backends: [backend('c')] })])], { hostname: 'a.test' })])], [cluster('c', [e.endpoint])]));
  const r = await request(p, '/', { host: 'b.test' });
  t.equal(r.status, 404);
  t.ok(r.body.length < 100, 'short body');
  t.equal(log[0].reason, 'no_listener');
  t.equal((await request(p, '/', { host: 'a.test' })).status, 200);
});
