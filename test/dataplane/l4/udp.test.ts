import t from 'tap';
import { Registry } from 'prom-client';
import { backend, cluster, freePort, invalidBackend, planeFor, udpBackend, udpClient, udpRoute, udpTable, until } from './fixtures/l4.js';

t.test('UDPRoute: datagrams both ways; one flow (one backend socket) per client address and port', async (t) => {
  const b = await udpBackend('dns');
  const p = await freePort();
  const plane = planeFor(t, [b]);
  const report = await plane.dp.apply(udpTable(p, [udpRoute('r', [backend('c')])], [cluster('c', [b.endpoint], 'udp')]));
  t.same(report.listeners['default/gw/udp'], { programmed: true });
  const gw = plane.bound(`127.0.0.1|${p}|udp`);
  const c1 = await udpClient(gw);
  const c2 = await udpClient(gw);
  t.teardown(async () => {
    await c1.close();
    await c2.close();
  });
  t.equal(await c1.ask('one'), 'dns:one');
  t.equal(await c1.ask('two'), 'dns:two', 'same flow again');
  t.equal(await c2.ask('three'), 'dns:three', 'reply goes to the right client');
  t.equal(plane.dp.boundPorts.has(`127.0.0.1|${p}`), false, 'no TCP socket for a UDP-only port');
  t.equal(b.peers.size, 2, 'two flows, two backend sockets');
});

t.test('weights apply per flow: 2:1 over 6 clients is exactly 4:2', async (t) => {
  const a = await udpBackend('a');
  const b = await udpBackend('b');
  const p = await freePort();
  const plane = planeFor(t, [a, b]);
  await plane.dp.apply(udpTable(p, [udpRoute('w', [backend('a', 2), backend('b', 1)])], [cluster('a', [a.endpoint], 'udp'), cluster('b', [b.endpoint], 'udp')]));
  const gw = plane.bound(`127.0.0.1|${p}|udp`);
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) {
    const c = await udpClient(gw);
    answers.push(await c.ask(`q${i}`));
    // Each client keeps its backend for the life of the flow.
    t.equal((await c.ask('again')).split(':')[0], answers[i].split(':')[0], `client ${i} sticks to its backend`);
    await c.close();
  }
  t.equal(answers.filter((x) => x.startsWith('a:')).length, 4);
  t.equal(answers.filter((x) => x.startsWith('b:')).length, 2);
});

t.test('flows close after the idle timeout (logged once each), and the table is bounded', async (t) => {
  const b = await udpBackend('echo');
  const p = await freePort();
  const registry = new Registry();
  const plane = planeFor(t, [b], { metrics: registry, l4: { udpIdleTimeoutMs: 600, udpMaxFlows: 2 } });
  await plane.dp.apply(udpTable(p, [udpRoute('r', [backend('c')])], [cluster('c', [b.endpoint], 'udp')]));
  const gw = plane.bound(`127.0.0.1|${p}|udp`);
  const clients = await Promise.all([udpClient(gw), udpClient(gw), udpClient(gw)]);
  t.teardown(() => Promise.all(clients.map((c) => c.close())));
  t.equal(await clients[0].ask('a'), 'echo:a');
  t.equal(await clients[1].ask('b'), 'echo:b');
  t.equal(await clients[2].ask('c'), 'echo:c', 'a third flow is served');
  t.ok(plane.dp.udpFlows <= 2, 'no more than udpMaxFlows flows');
  t.ok(plane.log.some((e) => e.reason === 'evicted'), 'the least recently active flow was evicted');
  await until(() => plane.dp.udpFlows === 0, 5000, 'flows to idle out');
  await until(() => plane.log.length === 3, 5000, 'one line per flow');
  t.same(plane.log.map((e) => e.reason).sort(), ['evicted', 'idle_timeout', 'idle_timeout']);
  const line = plane.log.find((e) => e.reason === 'idle_timeout');
  t.equal(line?.protocol, 'udp');
  t.equal(line?.bytes_received, 1);
  t.equal(line?.bytes, 'echo:x'.length);
  const metrics = await registry.metrics();
  t.match(metrics, /sluice_l4_connections_total\{listener="default\/gw\/udp",protocol="udp",reason="idle_timeout"\} 2/);
  t.match(metrics, /sluice_l4_active_connections\{protocol="udp"\} 0/);
});

t.test('a flow whose route has no usable backend gets no answer and one log line', async (t) => {
  const p = await freePort();
  const plane = planeFor(t, [], { l4: { udpIdleTimeoutMs: 1000 } });
  await plane.dp.apply(udpTable(p, [udpRoute('r', [invalidBackend('RefNotPermitted')])]));
  const c = await udpClient(plane.bound(`127.0.0.1|${p}|udp`));
  t.teardown(() => c.close());
  await t.rejects(c.ask('x', 200), /no UDP reply/);
  await t.rejects(c.ask('y', 200), /no UDP reply/);
  t.equal(plane.dp.udpFlows, 1, 'both datagrams belong to one refused flow');
  await until(() => plane.log.length === 1, 5000, 'log line');
  t.equal(plane.log[0].reason, 'invalid_backend');
  t.equal(plane.log[0].upstream_error, 'RefNotPermitted');
});

t.test('a backend that answers with ICMP unreachable closes the flow; the next datagram opens a new one', async (t) => {
  const dead = await freePort();
  const p = await freePort();
  const plane = planeFor(t, []);
  await plane.dp.apply(udpTable(p, [udpRoute('r', [backend('dead')])], [cluster('dead', [{ address: '127.0.0.1', port: dead }], 'udp')]));
  const c = await udpClient(plane.bound(`127.0.0.1|${p}|udp`));
  t.teardown(() => c.close());
  await t.rejects(c.ask('x', 300), /no UDP reply/);
  await until(() => plane.log.length === 1, 5000, 'flow closed');
  t.equal(plane.log[0].reason, 'upstream_error');
  t.equal(plane.log[0].upstream_error, 'ECONNREFUSED');
});

t.test('a UDP listener on every address (dual-stack) answers IPv4 clients from the address they used', async (t) => {
  const b = await udpBackend('any');
  const p = await freePort();
  const plane = planeFor(t, [b]);
  await plane.dp.apply(udpTable(p, [udpRoute('r', [backend('c')])], [cluster('c', [b.endpoint], 'udp')], ''));
  const c = await udpClient(plane.bound(`|${p}|udp`));
  t.teardown(() => c.close());
  t.equal(await c.ask('v4'), 'any:v4');
});
