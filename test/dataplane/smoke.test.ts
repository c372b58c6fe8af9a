import t from 'tap';
import { startEcho, table, port, listener, vhost, route, backend, cluster, request, testDataPlane, freePort } from './helpers.js';

t.test('smoke', async (t) => {
  const a = await startEcho('a');
  const { dp, log } = testDataPlane();
  const p = await freePort();
  const rep = await dp.apply(table([port(p, [listener('http', [vhost('*', [route('r', {}, { backends: [backend('c')] })])])])], [cluster('c', [a.endpoint])]));
  t.same(rep, { listeners: { 'default/gw/http': { programmed: true } } });
  const r = await request(p, '/hello?x=1', { host: 'foo.example.com' });
  t.equal(r.status, 200);
  console.log(r.json(), log);
  await dp.close();
  await a.close();
});
