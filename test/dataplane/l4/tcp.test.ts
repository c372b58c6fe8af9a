import net from 'node:net';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  backend, cluster, connectTcp, countingBackend, firstLine, freePort, invalidBackend, l4route, listener, outcome, planeFor, port, readAll, sha256, table,
  tcpBackend, tcpTable, tcpToEndpoints, until,
} from './fixtures/l4.js';

t.test('TCPRoute: bytes both ways to the backend, one access log line per connection', async (t) => {
  const b = await tcpBackend('alpha');
  const p = await freePort();
  const plane = planeFor(t, [b]);
  const report = await plane.dp.apply(tcpToEndpoints(p, [b.endpoint]));
  t.same(report.listeners['default/gw/tcp'], { programmed: true }, 'TCP listener programmed');
  const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  t.equal(await firstLine(s), 'alpha', 'reached the backend');
  s.write('hello\n');
  t.equal(await firstLine(s), 'hello', 'echoed');
  s.end();
  await readAll(s).catch(() => Buffer.alloc(0));
  await until(() => plane.log.length === 1, 5000, 'access log line');
  const e = plane.log[0];
  t.equal(e.listener, 'default/gw/tcp');
  t.equal(e.route, 'default/r/0');
  t.equal(e.protocol, 'tcp');
  t.equal(e.upstream, `127.0.0.1:${b.endpoint.port}`);
  t.equal(e.reason, 'closed');
  t.equal(e.bytes_received, 6, 'bytes from the client');
  t.equal(e.bytes, 'alpha\n'.length + 6, 'bytes to the client');
  t.equal(e.relay, 'userspace');
});

t.test('weights: 3:1:0 over 8 connections is exactly 6:2:0 (smooth weighted round robin)', async (t) => {
  const bs = await Promise.all(['a', 'b', 'z'].map((n) => tcpBackend(n)));
  const p = await freePort();
  const plane = planeFor(t, bs);
  await plane.dp.apply(tcpTable(p, [l4route('w', [backend('a', 3), backend('b', 1), backend('z', 0)])], bs.map((b) => cluster(b.name, [b.endpoint]))));
  const seen: string[] = [];
  for (let i = 0; i < 8; i++) {
    const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
    seen.push(await firstLine(s));
    s.destroy();
  }
  t.equal(seen.filter((x) => x === 'a').length, 6);
  t.equal(seen.filter((x) => x === 'b').length, 2);
  t.equal(bs[2].connections(), 0, 'weight 0 never chosen');
});

t.test('several routes on one TCP listener: every connection goes to the first (oldest)', async (t) => {
  const older = await tcpBackend('older');
  const newer = await tcpBackend('newer');
  const p = await freePort();
  const plane = planeFor(t, [older, newer]);
  await plane.dp.apply(tcpTable(p, [l4route('older', [backend('o')]), l4route('newer', [backend('n')])], [cluster('o', [older.endpoint]), cluster('n', [newer.endpoint])]));
  for (let i = 0; i < 4; i++) {
    const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
    t.equal(await firstLine(s), 'older');
    s.destroy();
  }
  t.equal(newer.connections(), 0);
});

t.test('refused connections: no route, invalid backend, no endpoints, unreachable endpoint', async (t) => {
  const dead = await freePort();
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const plane = planeFor(t, [], { l4: { connectTimeoutMs: 2000 } });
  await plane.dp.apply(table([
    port(ports[0], 'TCP', [listener('none', 'TCP')]),
    port(ports[1], 'TCP', [listener('invalid', 'TCP', { routes: [l4route('inv', [invalidBackend('BackendNotFound')])] })]),
    port(ports[2], 'TCP', [listener('empty', 'TCP', { routes: [l4route('empty', [backend('empty')])] })]),
    port(ports[3], 'TCP', [listener('dead', 'TCP', { routes: [l4route('dead', [backend('dead')])] })]),
  ], [cluster('empty', []), cluster('dead', [{ address: '127.0.0.1', port: dead }])]));
  const expected = ['no_route', 'invalid_backend', 'no_endpoints', 'connect_failed'];
  for (const [i, p] of ports.entries()) {
    const s = net.connect({ host: '127.0.0.1', port: plane.bound(`127.0.0.1|${p}`) });
    const o = await outcome(s);
    t.equal(o.how, 'reset', `${expected[i]}: the client gets an RST`);
  }
  await until(() => plane.log.length === 4, 5000, 'four log lines');
  t.same(plane.log.map((e) => e.reason).sort(), [...expected].sort(), 'close reasons logged');
  const dl = plane.log.find((e) => e.reason === 'connect_failed');
  t.equal(dl?.upstream_error, 'ECONNREFUSED');
  t.equal(dl?.upstream, `127.0.0.1:${dead}`);
  t.equal(plane.log.find((e) => e.reason === 'invalid_backend')?.upstream_error, 'BackendNotFound');
});

t.test('a refused endpoint is skipped for the next one of the cluster', async (t) => {
  const live = await tcpBackend('live');
  const dead = await freePort();
  const p = await freePort();
  const plane = planeFor(t, [live]);
  await plane.dp.apply(tcpToEndpoints(p, [{ address: '127.0.0.1', port: dead }, live.endpoint]));
  for (let i = 0; i < 3; i++) {
    const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
    t.equal(await firstLine(s), 'live', `connection ${i} served`);
    s.destroy();
  }
});

t.test('half-close: the client FIN reaches the backend and the answer still flows back', async (t) => {
  // The backend reads to EOF, then answers with the byte count and hash, then closes.
  const b = await countingBackend('counter');
  const p = await freePort();
  const plane = planeFor(t, [b]);
  await plane.dp.apply(tcpToEndpoints(p, [b.endpoint]));
  const payload = randomBytes(3 * 1024 * 1024);
  const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  const reply = readAll(s);
  s.end(payload);
  t.equal((await reply).toString(), `${payload.length} ${sha256(payload)}\n`, 'backend saw every byte, then EOF, and its answer came back');
});

t.test('half-close: the backend FIN reaches the client while the client keeps sending', async (t) => {
  let serverGotAfterFin = '';
  const b = await tcpBackend('early-fin', (s) => {
    s.end('bye\n');
    s.on('data', (d: Buffer) => {
      serverGotAfterFin += d.toString();
    });
  });
  const p = await freePort();
  const plane = planeFor(t, [b]);
  await plane.dp.apply(tcpToEndpoints(p, [b.endpoint]));
  const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  t.equal((await readAll(s)).toString(), 'bye\n', 'client got the bytes and then EOF');
  s.end('still talking\n');
  await until(() => serverGotAfterFin === 'still talking\n', 5000, 'bytes after the backend FIN');
  t.pass('the client could still send after the backend half-closed');
});

t.test('RST propagation: a backend reset resets the client, a client reset resets the backend', async (t) => {
  const b = await tcpBackend('resetter', (s) => {
    s.on('data', (d: Buffer) => {
      if (d.toString().includes('reset-me')) s.resetAndDestroy();
    });
  });
  const p = await freePort();
  const plane = planeFor(t, [b]);
  await plane.dp.apply(tcpToEndpoints(p, [b.endpoint]));
  const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  const o = outcome(s);
  s.write('reset-me\n');
  t.equal((await o).how, 'reset', 'client sees ECONNRESET');

  const s2 = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  await until(() => b.sockets.length === 2, 5000, 'second backend connection');
  const backendSide = outcome(b.sockets[1]);
  s2.resetAndDestroy();
  t.equal((await backendSide).how, 'reset', 'backend sees ECONNRESET');
  await until(() => plane.log.length === 2, 5000, 'log lines');
  t.ok(plane.log.every((e) => e.reason === 'reset' && e.upstream_error === 'ECONNRESET'), 'both logged as reset');
});

t.test('backpressure: 32 MiB echoed through a slow reader arrives intact', async (t) => {
  const b = await tcpBackend('echo', (s) => s.pipe(s));
  const p = await freePort();
  const plane = planeFor(t, [b]);
  await plane.dp.apply(tcpToEndpoints(p, [b.endpoint]));
  const payload = randomBytes(32 * 1024 * 1024);
  const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  const chunks: Buffer[] = [];
  let got = 0;
  // Read slowly at first: the proxy must hold back instead of buffering everything.
  s.pause();
  const done = new Promise<void>((resolve) => {
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got === payload.length) resolve();
    });
  });
  s.write(payload);
  await new Promise((r) => setTimeout(r, 300));
  t.ok(s.writableLength > 0, 'the client could not push everything while nobody read (backpressure reached it)');
  s.resume();
  await done;
  t.equal(sha256(Buffer.concat(chunks)), sha256(payload), 'byte for byte');
  s.destroy();
});

t.test('table updates: open connections keep their backend, new ones take the new route; removed ports unbind', async (t) => {
  const one = await tcpBackend('one');
  const two = await tcpBackend('two');
  const p = await freePort();
  const plane = planeFor(t, [one, two]);
  const clusters = [cluster('one', [one.endpoint]), cluster('two', [two.endpoint])];
  await plane.dp.apply(tcpTable(p, [l4route('r', [backend('one')])], clusters));
  const bound = plane.bound(`127.0.0.1|${p}`);
  const s1 = await connectTcp(bound);
  t.equal(await firstLine(s1), 'one');
  await plane.dp.apply(tcpTable(p, [l4route('r', [backend('two')])], clusters));
  t.equal(plane.bound(`127.0.0.1|${p}`), bound, 'same socket kept');
  const s2 = await connectTcp(bound);
  t.equal(await firstLine(s2), 'two', 'new connection uses the new table');
  s1.write('still here\n');
  t.equal(await firstLine(s1), 'still here', 'old connection still relays');
  s1.destroy();
  s2.destroy();
  await plane.dp.apply(table([], []));
  t.notOk(plane.dp.boundPorts.has(`127.0.0.1|${p}`), 'port unbound');
  const o = await outcome(net.connect({ host: '127.0.0.1', port: bound }));
  t.equal(o.how, 'ECONNREFUSED', 'nothing listens any more');
});

t.test('a port that cannot be bound is reported PortUnavailable', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const p = (blocker.address() as net.AddressInfo).port;
  const plane = planeFor(t, [{ close: () => new Promise<void>((resolve) => blocker.close(() => resolve())) }]);
  const report = await plane.dp.apply(tcpTable(p, []));
  t.equal(report.listeners['default/gw/tcp'].programmed, false);
  t.equal(report.listeners['default/gw/tcp'].reason, 'PortUnavailable');
});
