// The L4 data plane with the kernel splice engine (src/native): TCPRoute and
// TLS passthrough pairs are spliced by the sockmap programs, the ClientHello
// is peeked without being consumed, and a disabled engine falls back to
// userspace piping with buffer-and-replay.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createSpliceEngine, type SpliceEngine } from '../../../src/native/splice.js';
import {
  backend, cluster, connectTcp, countingBackend, connectTls, firstLine, freePort, httpsWebListener, l4route, passthroughListenerFor, passthroughTable, planeFor,
  port, readAll, sha256, table, tcpToEndpoints, testCA, tlsBackend, until,
} from './fixtures/l4.js';
import { cluster as httpCluster, request, startEcho } from '../fixtures/helpers.js';

const ca = testCA();
const certA = ca.issue(['a.example.com']);
const gatewayCert = ca.issue(['*.example.com']);

async function kernelEngine(): Promise<SpliceEngine | string> {
  if (process.getuid?.() !== 0) return 'not root (CAP_BPF and CAP_NET_ADMIN needed)';
  const engine = await createSpliceEngine({ mode: 'auto' });
  if (!engine.enabled) {
    const why = engine.reason;
    engine.close();
    return why;
  }
  return engine;
}

const engine = await kernelEngine();
if (typeof engine === 'string') {
  console.error(`\n#### SKIPPING kernel splice tests of the L4 data plane: ${engine} ####\n`);
}

t.test('kernel splice: TCPRoute bytes moved by the kernel, byte for byte, half-close both ways', { skip: typeof engine === 'string' ? engine : false }, async (t) => {
  const eng = engine as SpliceEngine;
  const b = await countingBackend('counter');
  const p = await freePort();
  const plane = planeFor(t, [b], { l4: { splice: eng } });
  await plane.dp.apply(tcpToEndpoints(p, [b.endpoint]));
  const payload = randomBytes(4 * 1024 * 1024);
  const s = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  const reply = readAll(s);
  s.end(payload);
  t.equal((await reply).toString(), `${payload.length} ${sha256(payload)}\n`, 'every byte, FIN, then the answer');
  await until(() => plane.log.length === 1, 10_000, 'log line');
  t.equal(plane.log[0].relay, 'kernel', 'spliced');
  t.equal(plane.log[0].bytes_received, payload.length, 'kernel byte counters reach the access log');
  t.equal(plane.log[0].reason, 'closed');
});

t.test('kernel splice: TLS passthrough peeks the SNI and splices from the first byte', { skip: typeof engine === 'string' ? engine : false }, async (t) => {
  const eng = engine as SpliceEngine;
  const a = await tlsBackend('A', certA);
  const p = await freePort();
  const plane = planeFor(t, [a], { l4: { splice: eng } });
  await plane.dp.apply(passthroughTable(p, [l4route('p', [backend('a')], ['a.example.com'], 'TLSRoute')], [cluster('a', [a.endpoint])]));
  const s = await connectTls(plane.bound(`127.0.0.1|${p}`), 'a.example.com', ca.certPem);
  t.equal(await firstLine(s), 'A sni=a.example.com');
  const big = randomBytes(256 * 1024).toString('hex');
  s.write(`${big}\n`);
  t.equal(await firstLine(s), big, 'echo through the spliced TLS stream');
  s.end();
  await until(() => plane.log.length === 1, 10_000, 'log line');
  t.equal(plane.log[0].relay, 'kernel');
  t.ok((plane.log[0].bytes_received ?? 0) > big.length, 'ClientHello and records counted by the kernel');
});

t.test('kernel splice: an HTTPS listener sharing the port still gets its connections (peeked, nothing consumed)', { skip: typeof engine === 'string' ? engine : false }, async (t) => {
  const eng = engine as SpliceEngine;
  const web = await startEcho('web');
  const a = await tlsBackend('A', certA);
  const p = await freePort();
  const plane = planeFor(t, [web, a], { l4: { splice: eng } });
  await plane.dp.apply(table([
    port(p, 'HTTPS', [
      passthroughListenerFor('a'),
      httpsWebListener(gatewayCert),
    ]),
  ], [cluster('a', [a.endpoint]), httpCluster('web', [web.endpoint])]));
  const gw = plane.bound(`127.0.0.1|${p}`);
  const res = await request(gw, '/x', { host: 'www.example.com', tls: { servername: 'www.example.com', ca: ca.certPem } });
  t.equal(res.status, 200);
  t.equal(res.json().name, 'web');
  const s = await connectTls(gw, 'a.example.com', ca.certPem);
  t.equal(await firstLine(s), 'A sni=a.example.com');
  s.destroy();
});

t.test('an engine that is off: userspace piping and buffer-and-replay, same behaviour', async (t) => {
  const off = await createSpliceEngine({ mode: 'off' });
  t.notOk(off.enabled);
  const a = await tlsBackend('A', certA);
  const p = await freePort();
  const plane = planeFor(t, [a], { l4: { splice: off } });
  await plane.dp.apply(passthroughTable(p, [l4route('p', [backend('a')], ['a.example.com'], 'TLSRoute')], [cluster('a', [a.endpoint])]));
  const s = await connectTls(plane.bound(`127.0.0.1|${p}`), 'a.example.com', ca.certPem);
  t.equal(await firstLine(s), 'A sni=a.example.com');
  s.end();
  await until(() => plane.log.length === 1, 10_000, 'log line');
  t.equal(plane.log[0].relay, 'userspace');
});

t.teardown(() => {
  if (typeof engine !== 'string') engine.close();
});
