// TCP idle timeout of userspace-relayed L4 connections (L4Options.tcpIdleTimeoutMs):
// a connection with no byte either way for that long is closed on both sides and
// logged with reason idle_timeout; traffic in either direction keeps it open.
import type net from 'node:net';
import t from 'tap';
import {
  backend, cluster, connectTcp, connectTls, firstLine, freePort, l4route, listener, newPlane, port, table, tcpBackend, testCA, until,
} from './fixtures/l4.js';
import { DEFAULT_TCP_IDLE_TIMEOUT_MS } from '../../../src/dataplane/l4/index.js';

/** Resolves once the peer closed (FIN: 'end'; the client sockets allow half-open, so no 'close' follows by itself). */
function ended(s: net.Socket): Promise<{ how: string }> {
  return new Promise((resolve) => {
    s.resume();
    s.once('end', () => resolve({ how: 'end' }));
    s.once('close', () => resolve({ how: 'close' }));
    s.once('error', (e: NodeJS.ErrnoException) => resolve({ how: e.code === 'ECONNRESET' ? 'reset' : 'error' }));
  });
}

const ca = testCA();
const gatewayCert = ca.issue(['tls.example.com']);

t.test('the default idle timeout is one hour', async (t) => {
  t.equal(DEFAULT_TCP_IDLE_TIMEOUT_MS, 3_600_000);
});

t.test('TCPRoute: an idle connection is closed on both sides, traffic keeps a connection open', async (t) => {
  const b = await tcpBackend('alpha');
  const p = await freePort();
  const idleMs = 1500;
  const plane = newPlane({ l4: { tcpIdleTimeoutMs: idleMs } });
  t.teardown(async () => {
    await plane.dp.close();
    await b.close();
  });
  await plane.dp.apply(table([port(p, 'TCP', [listener('tcp', 'TCP', { routes: [l4route('r', [backend('c')])] })])], [cluster('c', [b.endpoint])]));

  // Busy: a line echoed every 250 ms for twice the timeout. Only the echo
  // (backend -> client) or only the request (client -> backend) would each count too.
  const busy = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  t.equal(await firstLine(busy), 'alpha');
  for (let i = 0; i < 12; i++) {
    busy.write(`ping ${i}\n`);
    t.equal(await firstLine(busy), `ping ${i}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  t.notOk(busy.destroyed, 'a connection with traffic stays open past the idle timeout');
  busy.destroy();

  const idle = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  t.equal(await firstLine(idle), 'alpha');
  t.equal((await ended(idle)).how, 'end', 'the idle connection was closed (FIN, no reset)');
  await until(() => plane.log.some((e) => e.reason === 'idle_timeout'), 5000, 'idle_timeout log line');
  const e = plane.log.find((x) => x.reason === 'idle_timeout')!;
  t.equal(e.protocol, 'tcp');
  t.equal(e.relay, 'userspace');
  t.ok(Number(e.duration_ms) >= idleMs, 'not before the timeout');
  await until(() => b.sockets.every((s) => s.destroyed || s.readableEnded), 5000, 'backend side closed too');
});

t.test('TLS terminate: the idle timer covers the TLS session and closes the backend side', async (t) => {
  const b = await tcpBackend('plain');
  const p = await freePort();
  const plane = newPlane({ l4: { tcpIdleTimeoutMs: 500 } });
  t.teardown(async () => {
    await plane.dp.close();
    await b.close();
  });
  await plane.dp.apply(table([
    port(p, 'TLS', [listener('term', 'TLS', { tlsMode: 'Terminate', hostname: 'tls.example.com', cert: gatewayCert, routes: [l4route('t', [backend('plain')], ['tls.example.com'], 'TLSRoute')] })]),
  ], [cluster('plain', [b.endpoint])]));
  const s = await connectTls(plane.bound(`127.0.0.1|${p}`), 'tls.example.com', ca.certPem);
  t.equal(await firstLine(s), 'plain');
  t.not((await ended(s)).how, 'error', 'the idle TLS session was closed');
  await until(() => plane.log.some((e) => e.reason === 'idle_timeout'), 5000, 'idle_timeout log line');
  t.equal(plane.log.find((e) => e.reason === 'idle_timeout')?.protocol, 'tls-terminate');
  await until(() => b.sockets.every((x) => x.destroyed || x.readableEnded), 5000, 'backend side closed too');
});
