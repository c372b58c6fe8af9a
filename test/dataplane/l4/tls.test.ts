import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import t from 'tap';
import {
  backend, cluster, connectTcp, countingBackend, connectTls, firstLine, freePort, httpsWebListener, l4route, listener, outcome, passthroughListenerFor,
  passthroughTable, planeFor, port, readAll, sha256, table, tcpBackend, testCA, tlsBackend, until,
} from './fixtures/l4.js';
import { cluster as httpCluster, request, startEcho } from '../fixtures/helpers.js';

const ca = testCA();
const certA = ca.issue(['a.example.com']);
const certB = ca.issue(['*.b.example.com']);
const gatewayCert = ca.issue(['tls.example.com', '*.example.com']);

t.test('passthrough: the SNI picks the route, the backend terminates TLS with its own certificate', async (t) => {
  const a = await tlsBackend('A', certA);
  const b = await tlsBackend('B', certB);
  const p = await freePort();
  const plane = planeFor(t, [a, b]);
  const report = await plane.dp.apply(table([
    port(p, 'TLS', [listener('pass', 'TLS', {
      tlsMode: 'Passthrough',
      // The wildcard route is listed first: exact names still win in lookup.
      routes: [l4route('wild', [backend('b')], ['*.example.com'], 'TLSRoute'), l4route('exact', [backend('a')], ['a.example.com'], 'TLSRoute'), l4route('bwild', [backend('b')], ['*.b.example.com'], 'TLSRoute')],
    })]),
  ], [cluster('a', [a.endpoint]), cluster('b', [b.endpoint])]));
  t.same(report.listeners['default/gw/pass'], { programmed: true });
  const gw = plane.bound(`127.0.0.1|${p}`);

  const sa = await connectTls(gw, 'a.example.com', ca.certPem);
  t.equal(await firstLine(sa), 'A sni=a.example.com', 'exact SNI to backend A');
  t.match(sa.getPeerCertificate().subjectaltname, /DNS:a\.example\.com/, "backend A's certificate, not the gateway's");
  sa.write('ping\n');
  t.equal(await firstLine(sa), 'ping', 'echo through the encrypted stream');
  sa.destroy();

  const sb = await connectTls(gw, 'x.b.example.com', ca.certPem);
  t.equal(await firstLine(sb), 'B sni=x.b.example.com', 'longest wildcard to backend B');
  sb.destroy();

  const sNo = tls.connect({ host: '127.0.0.1', port: gw, servername: 'nothing.example.org', ca: ca.certPem });
  t.equal((await outcome(sNo)).how, 'reset', 'unknown SNI: the connection is rejected');
  await until(() => plane.log.some((e) => e.reason === 'no_route'), 5000, 'no_route line');
  const line = plane.log.find((e) => e.host === 'a.example.com');
  t.equal(line?.protocol, 'tls-passthrough');
  t.equal(line?.route, 'default/exact/0');
});

t.test('passthrough without SNI uses the route without hostnames; not TLS and slow clients are refused', async (t) => {
  const a = await tlsBackend('A', certA);
  const p = await freePort();
  const plane = planeFor(t, [a], { l4: { helloTimeoutMs: 300 } });
  await plane.dp.apply(passthroughTable(p, [l4route('any', [backend('a')], [], 'TLSRoute')], [cluster('a', [a.endpoint])]));
  const gw = plane.bound(`127.0.0.1|${p}`);
  const s = await connectTls(gw, undefined, ca.certPem, { checkServerIdentity: () => undefined });
  t.equal(await firstLine(s), 'A sni=-', 'no SNI: catch-all route');
  s.destroy();

  const plain = net.connect({ host: '127.0.0.1', port: gw });
  plain.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  t.equal((await outcome(plain)).how, 'reset', 'plaintext HTTP is refused');

  const silent = net.connect({ host: '127.0.0.1', port: gw });
  t.equal((await outcome(silent)).how, 'reset', 'a client that never sends a ClientHello is cut off');
  await until(() => plane.log.length === 3, 5000, 'three lines');
  t.same(plane.log.map((e) => e.reason).sort(), ['closed', 'hello_timeout', 'not_tls']);
});

/** A duplex over a TCP socket that delivers the first write in two parts, 100 ms apart. */
function splittingSocket(target: net.Socket): Duplex {
  let first = true;
  const d = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      if (first && chunk.length > 10) {
        first = false;
        target.write(chunk.subarray(0, 7));
        setTimeout(() => target.write(chunk.subarray(7), cb), 100);
        return;
      }
      target.write(chunk, cb);
    },
    read() {
      target.resume();
    },
    final(cb) {
      target.end(cb);
    },
  });
  target.on('data', (c: Buffer) => {
    if (!d.push(c)) target.pause();
  });
  target.on('end', () => d.push(null));
  return d;
}

t.test('passthrough: a ClientHello that arrives in pieces is reassembled', async (t) => {
  const a = await tlsBackend('A', certA);
  const p = await freePort();
  const plane = planeFor(t, [a]);
  await plane.dp.apply(passthroughTable(p, [l4route('exact', [backend('a')], ['a.example.com'], 'TLSRoute')], [cluster('a', [a.endpoint])]));
  const raw = await connectTcp(plane.bound(`127.0.0.1|${p}`));
  const s = tls.connect({ socket: splittingSocket(raw), servername: 'a.example.com', ca: ca.certPem });
  t.equal(await firstLine(s), 'A sni=a.example.com');
  s.destroy();
  raw.destroy();
});

t.test('terminate: TLS ends at the gateway with the listener certificate, plaintext to the backend, half-close both ways', async (t) => {
  const plain = await countingBackend('plain', 'plain\n');
  const p = await freePort();
  const plane = planeFor(t, [plain]);
  const report = await plane.dp.apply(table([
    port(p, 'TLS', [listener('term', 'TLS', { tlsMode: 'Terminate', hostname: 'tls.example.com', cert: gatewayCert, routes: [l4route('t', [backend('plain')], ['tls.example.com'], 'TLSRoute')] })]),
  ], [cluster('plain', [plain.endpoint])]));
  t.same(report.listeners['default/gw/term'], { programmed: true });
  const s = await connectTls(plane.bound(`127.0.0.1|${p}`), 'tls.example.com', ca.certPem);
  t.match(s.getPeerCertificate().subjectaltname, /DNS:tls\.example\.com/, "the gateway's certificate");
  t.equal(await firstLine(s), 'plain', 'backend reached over plaintext');
  const payload = Buffer.alloc(512 * 1024, 7);
  const rest = readAll(s);
  s.end(payload);
  const answer = (await rest).toString();
  t.equal(answer, `${payload.length} ${sha256(payload)}\n`, 'client FIN became backend EOF; the answer came back, then the backend FIN closed the TLS session');
  await until(() => plane.log.length === 1, 5000, 'log line');
  t.equal(plane.log[0].protocol, 'tls-terminate');
  t.equal(plane.log[0].bytes_received, payload.length, 'plaintext bytes from the client');
  t.equal(plane.log[0].reason, 'closed');
});

t.test('terminate: a backend reset resets the client', async (t) => {
  const b = await tcpBackend('resetter', (s) => {
    s.on('data', () => s.resetAndDestroy());
  });
  const p = await freePort();
  const plane = planeFor(t, [b]);
  await plane.dp.apply(table([
    port(p, 'TLS', [listener('term', 'TLS', { tlsMode: 'Terminate', cert: gatewayCert, routes: [l4route('t', [backend('b')], [], 'TLSRoute')] })]),
  ], [cluster('b', [b.endpoint])]));
  const s = await connectTls(plane.bound(`127.0.0.1|${p}`), 'tls.example.com', ca.certPem);
  const o = outcome(s);
  s.write('x');
  t.equal((await o).how, 'reset');
});

t.test('mixed modes on one port (TLSRouteModeMixed): passthrough and terminate told apart by SNI', async (t) => {
  const pass = await tlsBackend('passthrough-backend', certA);
  const plain = await tcpBackend('terminated-backend');
  const p = await freePort();
  const plane = planeFor(t, [pass, plain]);
  await plane.dp.apply(table([
    port(p, 'TLS', [
      listener('tls-passthrough', 'TLS', { tlsMode: 'Passthrough', hostname: 'a.example.com', routes: [l4route('p', [backend('pass')], ['a.example.com'], 'TLSRoute')] }),
      listener('tls-terminate', 'TLS', { tlsMode: 'Terminate', hostname: 'tls.example.com', cert: gatewayCert, routes: [l4route('t', [backend('plain')], ['tls.example.com'], 'TLSRoute')] }),
    ]),
  ], [cluster('pass', [pass.endpoint]), cluster('plain', [plain.endpoint])]));
  const gw = plane.bound(`127.0.0.1|${p}`);
  const sp = await connectTls(gw, 'a.example.com', ca.certPem);
  t.equal(await firstLine(sp), 'passthrough-backend sni=a.example.com');
  const st = await connectTls(gw, 'tls.example.com', ca.certPem);
  t.equal(await firstLine(st), 'terminated-backend');
  st.write('over tls\n');
  t.equal(await firstLine(st), 'over tls');
  sp.destroy();
  st.destroy();
});

t.test('an HTTPS listener and a passthrough listener share a port: HTTP requests reach the HTTP route, the passthrough SNI its backend', async (t) => {
  const web = await startEcho('web');
  const pass = await tlsBackend('pass', certA);
  const p = await freePort();
  const plane = planeFor(t, [web, pass]);
  const httpsListener = httpsWebListener(gatewayCert);
  const report = await plane.dp.apply(table([
    port(p, 'HTTPS', [
      passthroughListenerFor('pass'),
      httpsListener,
    ]),
  ], [cluster('pass', [pass.endpoint]), httpCluster('web', [web.endpoint])]));
  t.same(report.listeners['default/gw/https'], { programmed: true });
  t.same(report.listeners['default/gw/pass'], { programmed: true });
  const gw = plane.bound(`127.0.0.1|${p}`);
  const res = await request(gw, '/hello', { host: 'www.example.com', tls: { servername: 'www.example.com', ca: ca.certPem } });
  t.equal(res.status, 200, 'HTTPS served');
  t.equal(res.json().name, 'web');
  t.equal(res.json().path, '/hello');
  const s = await connectTls(gw, 'a.example.com', ca.certPem);
  t.equal(await firstLine(s), 'pass sni=a.example.com', 'passthrough by SNI on the same port');
  s.destroy();
  await until(() => plane.log.some((e) => e.protocol === 'tls-passthrough') && plane.log.some((e) => e.method === 'GET'), 5000, 'both log lines');
});

t.test('a port switching between HTTPS only and HTTPS shared with a passthrough listener keeps serving HTTPS', async (t) => {
  const web = await startEcho('web');
  const pass = await tlsBackend('pass', certA);
  const p = await freePort();
  const plane = planeFor(t, [web, pass]);
  const httpsListener = httpsWebListener(gatewayCert);
  const passListener = passthroughListenerFor('pass');
  const clusters = [cluster('pass', [pass.endpoint]), httpCluster('web', [web.endpoint])];
  const get = async (): Promise<number> => (await request(p, '/', { host: 'www.example.com', tls: { servername: 'www.example.com', ca: ca.certPem } })).status;
  const passFirstLine = async (): Promise<string> => {
    const s = await connectTls(p, 'a.example.com', ca.certPem);
    const line = await firstLine(s);
    s.destroy();
    return line;
  };

  await plane.dp.apply(table([port(p, 'HTTPS', [httpsListener])], clusters));
  t.equal(await get(), 200, 'HTTPS only');
  await plane.dp.apply(table([port(p, 'HTTPS', [passListener, httpsListener])], clusters));
  t.equal(await get(), 200, 'HTTPS after the port became shared');
  t.equal(await passFirstLine(), 'pass sni=a.example.com', 'passthrough on the shared port');
  await plane.dp.apply(table([port(p, 'HTTPS', [httpsListener])], clusters));
  t.equal(await get(), 200, 'HTTPS after the passthrough listener left');
  const s = await connectTls(p, 'a.example.com', ca.certPem);
  t.match(s.getPeerCertificate().subjectaltname, /\*\.example\.com/, 'a.example.com is now served by the HTTPS listener (its certificate, not the backend\'s)');
  s.destroy();
});
