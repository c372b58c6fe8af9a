import http from 'node:http';
import t from 'tap';
import { backend, cluster, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost } from './fixtures/helpers.js';

t.test('95/5 split over 1000 requests is exactly 950/50', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  const p = await freePort();
  const { dp } = testDataPlane();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  t.teardown(async () => {
    agent.destroy();
    await dp.close();
    await a.close();
    await b.close();
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('split', {}, { backends: [backend('a', 95), backend('b', 5)] })])])])],
    [cluster('a', [a.endpoint]), cluster('b', [b.endpoint])]));
  const counts: Record<string, number> = { a: 0, b: 0 };
  for (let batch = 0; batch < 100; batch++) {
    const replies = await Promise.all(Array.from({ length: 10 }, () => request(p, '/', { agent })));
    for (const r of replies) counts[r.json().name]++;
  }
  t.same(counts, { a: 950, b: 50 });
});

t.test('weight 0 is never chosen; an invalid backend gets its share as 500', async (t) => {
  const a = await startEcho('a');
  const z = await startEcho('zero');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await a.close();
    await z.close();
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [
    route('zero', { path: { type: 'PathPrefix', value: '/zero' } }, { backends: [backend('a', 1), backend('zero', 0)] }),
    route('invalid', { path: { type: 'PathPrefix', value: '/invalid' } }, {
      backends: [backend('a', 3), { weight: 1, invalid: 'BackendNotFound', filters: [] }],
    }),
    route('allzero', { path: { type: 'PathPrefix', value: '/allzero' } }, { backends: [backend('a', 0)] }),
    route('unknown', { path: { type: 'PathPrefix', value: '/unknown' } }, { backends: [backend('no-such-cluster', 1)] }),
  ])])])], [cluster('a', [a.endpoint]), cluster('zero', [z.endpoint])]));
  for (let i = 0; i < 20; i++) t.equal((await request(p, '/zero')).json().name, 'a');
  t.equal(z.seen.length, 0, 'the weight-0 backend saw nothing');

  const statuses: number[] = [];
  for (let i = 0; i < 40; i++) statuses.push((await request(p, '/invalid')).status);
  t.equal(statuses.filter((s) => s === 500).length, 10, 'exactly a quarter of the traffic gets 500');
  t.equal(statuses.filter((s) => s === 200).length, 30);
  const invalidLine = log.find((e) => e.status === 500);
  t.equal(invalidLine?.reason, 'invalid_backend');
  t.equal(invalidLine?.upstream_error, 'BackendNotFound');

  t.equal((await request(p, '/allzero')).status, 500, 'all weights 0 -> 500');
  t.equal((await request(p, '/unknown')).status, 500, 'a cluster missing from the table -> 500');
});

t.test('round robin across endpoints and least-request', async (t) => {
  const e1 = await startEcho('e1');
  const e2 = await startEcho('e2');
  const e3 = await startEcho('e3');
  t.teardown(async () => {
    await e1.close();
    await e2.close();
    await e3.close();
  });
  for (const policy of ['round-robin', 'least-request'] as const) {
    const p = await freePort();
    const { dp } = testDataPlane({ endpointPolicy: policy });
    await dp.apply(table([port(p, [listener('http', [vhost('*', [route('rr', {}, { backends: [backend('c')] })])])])],
      [cluster('c', [e1.endpoint, e2.endpoint, e3.endpoint])]));
    const counts: Record<string, number> = {};
    for (let i = 0; i < 30; i++) {
      const name = (await request(p, '/')).json().name;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    t.same(counts, { e1: 10, e2: 10, e3: 10 }, `${policy}: sequential requests spread evenly`);
    await dp.close();
  }
});
