import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { Registry } from 'prom-client';
import type { RouteTable } from '../../src/translate/ir.js';
import { createDevCA } from '../../src/util/devcert.js';
import { backend, cluster, eventually, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost, type Echo } from './fixtures/helpers.js';

function simpleTable(p: number, clusterName: string, echoes: Echo[], extraPath = '/'): RouteTable {
  return table([port(p, [listener('http', [vhost('*', [
    route(`r-${clusterName}`, { path: { type: 'PathPrefix', value: extraPath } }, { backends: [backend(clusterName)] }),
  ])])])], echoes.map((e) => cluster(e.name, [e.endpoint])));
}

t.test('table swaps under load drop no request', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  const p = await freePort();
  // A pool unused by one table version stays open for the grace period (production: 30 s).
  const { dp } = testDataPlane({ poolGraceMs: 10_000 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  t.teardown(async () => {
    agent.destroy();
    await dp.close();
    await a.close();
    await b.close();
  });
  await dp.apply(simpleTable(p, 'a', [a, b]));
  let stop = false;
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const names = new Set<string>();
  const worker = async (): Promise<void> => {
    for (let i = 0; i < 400 && !stop; i++) {
      try {
        const r = await request(p, `/w?delay=${i % 3}`, { agent });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status === 200) names.add(r.json().name);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  const workers = Array.from({ length: 12 }, worker);
  const total = (): number => [...statuses.values()].reduce((a, b) => a + b, 0) + errors.length;
  // At least 30 swaps, and on until 300 requests ran (bounded: a slow machine still finishes).
  for (let i = 0; i < 300 && (i < 30 || total() < 300); i++) {
    await new Promise((r) => setTimeout(r, 15));
    // Alternate backends and also change the route shape (path prefix) each time.
    await dp.apply(simpleTable(p, i % 2 === 0 ? 'b' : 'a', [a, b], i % 3 === 0 ? '/w' : '/'));
  }
  stop = true;
  await Promise.all(workers);
  t.same(errors, [], 'no connection errors');
  t.same([...statuses.keys()], [200], 'every request answered 200');
  t.ok(total() >= 300, `a real load ran (${total()} requests)`);
  t.same([...names].sort(), ['a', 'b'], 'both table versions served');
  // 12 workers need at most 12 connections per backend; a pool rebuilt per swap would need hundreds (slack for idle expiry on a stalled machine).
  t.ok(a.connections() <= 24 && b.connections() <= 24, `upstream keep-alive pools survived the swaps (${a.connections()} and ${b.connections()} upstream connections)`);
});

t.test('an in-flight request keeps the table it started with', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await a.close();
    await b.close();
  });
  await dp.apply(simpleTable(p, 'a', [a, b]));
  const slow = request(p, '/?delay=300');
  await eventually(() => a.seen.length === 1);
  await dp.apply(simpleTable(p, 'b', [a, b]));
  const fast = await request(p, '/');
  t.equal(fast.json().name, 'b', 'new requests use the new table');
  const slowReply = await slow;
  t.equal(slowReply.status, 200);
  t.equal(slowReply.json().name, 'a', 'the slow request finished on the old table');
});

t.test('a port that stays is not re-bound: keep-alive connections survive apply', async (t) => {
  const a = await startEcho('a');
  const p = await freePort();
  const { dp } = testDataPlane();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(async () => {
    agent.destroy();
    await dp.close();
    await a.close();
  });
  await dp.apply(simpleTable(p, 'a', [a]));
  const localPorts: number[] = [];
  const get = () => new Promise<void>((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: p, path: '/', agent }, (res) => {
      localPorts.push(res.socket.localPort ?? 0);
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
  await get();
  await dp.apply(simpleTable(p, 'a', [a], '/'));
  await get();
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('other', {}, { backends: [backend('a')] })])])])], [cluster('a', [a.endpoint])]));
  await get();
  t.equal(new Set(localPorts).size, 1, 'the same client connection served all three');
  t.equal(a.connections(), 1, 'the same upstream connection too');
});

t.test('bind failure is reported per listener; other ports keep serving; removed ports close', async (t) => {
  const a = await startEcho('a');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const taken = (blocker.address() as net.AddressInfo).port;
  const good = await freePort();
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await a.close();
    blocker.close();
  });
  const both = table([
    port(taken, [
      listener('x', [vhost('*', [route('r', {}, { backends: [backend('a')] })])]),
      listener('y', [vhost('*', [route('r', {}, { backends: [backend('a')] })])], { hostname: 'y.test' }),
    ]),
    port(good, [listener('ok', [vhost('*', [route('r', {}, { backends: [backend('a')] })])])]),
  ], [cluster('a', [a.endpoint])]);
  const report = await dp.apply(both);
  for (const id of ['default/gw/x', 'default/gw/y']) {
    t.equal(report.listeners[id].programmed, false, `${id} not programmed`);
    t.equal(report.listeners[id].reason, 'PortUnavailable');
    t.match(report.listeners[id].message, new RegExp(`127\\.0\\.0\\.1:${taken}.*EADDRINUSE`));
  }
  t.same(report.listeners['default/gw/ok'], { programmed: true });
  t.equal((await request(good, '/')).status, 200);

  // The port frees up: the next apply binds it.
  await new Promise<void>((r) => blocker.close(() => r()));
  const retry = await dp.apply(both);
  t.equal(retry.listeners['default/gw/x'].programmed, true, 'bound on a later apply');
  t.equal((await request(taken, '/')).status, 200);

  // Drop the first port from the table: it stops accepting.
  await dp.apply(table([port(good, [listener('ok', [vhost('*', [route('r', {}, { backends: [backend('a')] })])])])], [cluster('a', [a.endpoint])]));
  await t.rejects(request(taken, '/'), { code: 'ECONNREFUSED' }, 'removed port is closed');
  t.equal((await request(good, '/')).status, 200);
});

t.test('two addresses on one port number and a port switching HTTP -> HTTPS', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  const p = await freePort('127.0.0.2');
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await a.close();
    await b.close();
  });
  const r = (n: string) => [route(n, {}, { backends: [backend(n)] })];
  const report = await dp.apply(table([
    port(p, [listener('on2', [vhost('*', r('a'))])], { address: '127.0.0.2' }),
    port(p, [listener('on3', [vhost('*', r('b'))])], { address: '127.0.0.3' }),
  ], [cluster('a', [a.endpoint]), cluster('b', [b.endpoint])]));
  t.ok(report.listeners['default/gw/on2'].programmed && report.listeners['default/gw/on3'].programmed);
  t.equal((await request(p, '/', { address: '127.0.0.2' })).json().name, 'a');
  t.equal((await request(p, '/', { address: '127.0.0.3' })).json().name, 'b');

  // Same address:port, now HTTPS: the server is replaced by a TLS one.
  const ca = createDevCA('switch CA');
  const pair = ca.issue(['secure.test']);
  const switched = await dp.apply(table([
    port(p, [listener('on2', [vhost('*', r('a'))], { tls: { certificates: [{ secret: 'default/s', ...pair }] } })], { address: '127.0.0.2', protocol: 'HTTPS' }),
    port(p, [listener('on3', [vhost('*', r('b'))])], { address: '127.0.0.3' }),
  ], [cluster('a', [a.endpoint]), cluster('b', [b.endpoint])]));
  t.equal(switched.listeners['default/gw/on2'].programmed, true);
  const secure = await request(p, '/', { address: '127.0.0.2', host: 'secure.test', tls: { servername: 'secure.test', ca: ca.certPem } });
  t.equal(secure.json().name, 'a', 'served over TLS after the switch');
  t.equal((await request(p, '/', { address: '127.0.0.3' })).json().name, 'b', 'the other address was untouched');
});

t.test('drain: in-flight requests finish with Connection: close, new connections are refused', async (t) => {
  const a = await startEcho('a');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await a.close();
  });
  await dp.apply(simpleTable(p, 'a', [a]));
  const idleAgent = new http.Agent({ keepAlive: true });
  await request(p, '/', { agent: idleAgent });
  const slow = request(p, '/?delay=300');
  await eventually(() => a.seen.length === 2, 10_000);
  const drained = dp.drain(5_000);
  await new Promise((r) => setTimeout(r, 30));
  await t.rejects(request(p, '/'), { code: 'ECONNREFUSED' }, 'no new connections while draining');
  const reply = await slow;
  t.equal(reply.status, 200, 'the in-flight request completed');
  t.equal(reply.headers.connection, 'close');
  await drained;
  t.pass('drain resolved once connections closed (the idle keep-alive one included)');
  t.equal(log.filter((e) => e.status === 200).length, 2);
  idleAgent.destroy();
});

t.test('metrics', async (t) => {
  const a = await startEcho('a');
  const p = await freePort();
  const registry = new Registry();
  const { dp } = testDataPlane({ metrics: registry });
  t.teardown(async () => {
    await dp.close();
    await a.close();
  });
  await dp.apply(simpleTable(p, 'a', [a], '/ok'));
  await request(p, '/ok');
  await request(p, '/ok');
  await request(p, '/missing');
  const text = await registry.metrics();
  t.match(text, /sluice_http_requests_total\{listener="default\/gw\/http",route="default\/r-a\/0",status_class="2xx"\} 2/);
  t.match(text, /sluice_http_requests_total\{listener="default\/gw\/http",route="",status_class="4xx"\} 1/);
  t.match(text, /sluice_http_request_duration_seconds_count\{listener="default\/gw\/http",route="default\/r-a\/0"\} 2/);
  t.match(text, /sluice_http_active_connections\{port="\d+"\} \d/);
});
