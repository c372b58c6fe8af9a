import net from 'node:net';
import t, { type Test } from 'tap';
import { backend, cluster, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost } from './fixtures/helpers.js';
import type { HttpActionIR } from '../../src/translate/ir.js';

async function oneRoute(t: Test, action: Partial<HttpActionIR>, clusters: Parameters<typeof table>[1]) {
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(() => dp.close());
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('r', {}, { backends: [backend('c')], ...action })])])])], clusters));
  return { p, log, dp };
}

t.test('502 when the upstream refuses the connection', async (t) => {
  const dead = await freePort();
  const { p, log } = await oneRoute(t, {}, [cluster('c', [{ address: '127.0.0.1', port: dead }])]);
  const r = await request(p, '/');
  t.equal(r.status, 502);
  t.ok(r.body.length < 100);
  t.equal(log[0].reason, 'upstream_connect_refused');
  t.equal(log[0].upstream_error, 'ECONNREFUSED');
  t.equal(log[0].upstream, `127.0.0.1:${dead}`);
});

t.test('502 when the upstream resets the connection', async (t) => {
  const resetter = net.createServer((s) => s.on('data', () => s.resetAndDestroy()));
  await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', r));
  t.teardown(() => resetter.close());
  const up = (resetter.address() as net.AddressInfo).port;
  const { p, log } = await oneRoute(t, {}, [cluster('c', [{ address: '127.0.0.1', port: up }])]);
  const r = await request(p, '/', { method: 'POST', body: 'x' });
  t.equal(r.status, 502);
  t.equal(log[0].reason, 'upstream_reset');
});

t.test('a refused endpoint is skipped for another one (bodiless request)', async (t) => {
  const e = await startEcho('live');
  t.teardown(() => e.close());
  const dead = await freePort();
  const { p } = await oneRoute(t, {}, [cluster('c', [{ address: '127.0.0.1', port: dead }, e.endpoint])]);
  for (let i = 0; i < 6; i++) t.equal((await request(p, '/')).status, 200);
});

t.test('503 when the cluster has no endpoints', async (t) => {
  const { p, log } = await oneRoute(t, {}, [cluster('c', [])]);
  const r = await request(p, '/');
  t.equal(r.status, 503);
  t.equal(log[0].reason, 'no_endpoints');
});

t.test('504 on backendRequest and request timeouts', async (t) => {
  const e = await startEcho('slow');
  t.teardown(() => e.close());
  const backendTo = await oneRoute(t, { timeouts: { backendRequestMs: 1_000 } }, [cluster('c', [e.endpoint])]);
  const r1 = await request(backendTo.p, '/?delay=5000');
  t.equal(r1.status, 504);
  t.equal(backendTo.log[0].reason, 'upstream_timeout');
  t.equal((await request(backendTo.p, '/')).status, 200, 'fast requests still pass');

  const requestTo = await oneRoute(t, { timeouts: { requestMs: 150 } }, [cluster('c', [e.endpoint])]);
  const r2 = await request(requestTo.p, '/?delay=2000');
  t.equal(r2.status, 504);
  t.equal(requestTo.log[0].reason, 'request_timeout');
});

t.test('retries on listed status codes, bounded by attempts', async (t) => {
  // Endpoint 1 always answers 503 (via /status/503 it would for every request): use a tiny server instead.
  let failures = 0;
  const flaky = net.createServer((s) => {
    s.on('data', () => {
      failures++;
      s.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
  });
  await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', r));
  t.teardown(() => flaky.close());
  const good = await startEcho('good');
  t.teardown(() => good.close());
  const flakyEp = { address: '127.0.0.1', port: (flaky.address() as net.AddressInfo).port };
  const { p } = await oneRoute(t, { retry: { attempts: 2, codes: [503], backoffMs: 5 } }, [cluster('c', [flakyEp, good.endpoint])]);
  for (let i = 0; i < 4; i++) t.equal((await request(p, '/')).status, 200, 'a 503 is retried on the other endpoint');
  t.ok(failures >= 1, 'the flaky endpoint was tried');

  const only = await oneRoute(t, { retry: { attempts: 2, codes: [503] } }, [cluster('c', [flakyEp])]);
  const before = failures;
  t.equal((await request(only.p, '/')).status, 503, 'after the attempts run out the last answer goes through');
  t.equal(failures - before, 3, 'one try plus two retries');
});

t.test('client abort cancels the upstream request', async (t) => {
  const e = await startEcho('slow');
  t.teardown(() => e.close());
  const { p, log } = await oneRoute(t, {}, [cluster('c', [e.endpoint])]);
  await new Promise<void>((resolve) => {
    const s = net.connect(p, '127.0.0.1', () => {
      s.write('GET /?delay=300 HTTP/1.1\r\nhost: x\r\n\r\n');
      setTimeout(() => {
        s.destroy();
        resolve();
      }, 50);
    });
  });
  const until = Date.now() + 2000;
  while (log.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  t.equal(log[0]?.status, 499);
  t.equal(log[0]?.reason, 'client_abort');
});
