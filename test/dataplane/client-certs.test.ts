import http2 from 'node:http2';
import t from 'tap';
import { createDevCA, type CertKeyPair } from '../../src/util/devcert.js';
import type { ClientValidationIR, ListenerIR, ListenerTLSIR } from '../../src/translate/ir.js';
import { backend, cluster, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost, type RequestOptions } from './fixtures/helpers.js';

// Gateway spec.tls.frontend in the data plane: listeners with client CAs
// (AllowValidOnly / AllowInsecureFallback) and one without, sharing a port.
const serverCA = createDevCA('server CA');
const caA = createDevCA('client CA A');
const caB = createDevCA('client CA B');
const clientA = caA.issue(['client-a'], { clientAuth: true });
const clientB = caB.issue(['client-b'], { clientAuth: true });
const serverCert = serverCA.issue(['*.example.com', 'example.com', '127.0.0.1']);

const certs = { certificates: [{ secret: 'default/server', certPem: serverCert.certPem, keyPem: serverCert.keyPem }] };
const validation = (ca: CertKeyPair, mode: ClientValidationIR['mode'] = 'AllowValidOnly'): ListenerTLSIR => ({
  ...certs,
  clientValidation: { sources: ['default/ca'], caPems: [ca.certPem], mode },
});

function get(p: number, sni: string | undefined, host: string, client?: CertKeyPair): ReturnType<typeof request> {
  // servername '' sends no SNI (node would otherwise derive it from Host).
  const tls: NonNullable<RequestOptions['tls']> = { ca: serverCA.certPem, servername: sni ?? '', ...(client ? { cert: client.certPem, key: client.keyPem } : {}) };
  return request(p, '/', { host, tls });
}

/** GET / over HTTP/2 (ALPN h2) and return the status. */
function getH2(p: number, sni: string, client?: CertKeyPair): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${p}`, {
      ca: serverCA.certPem, servername: sni, ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    });
    session.on('error', reject);
    session.on('close', () => reject(new Error('session closed before a response')));
    const req = session.request({ ':path': '/', ':authority': sni });
    req.on('error', reject);
    req.on('response', (headers) => {
      req.resume();
      req.on('end', () => {
        session.close();
        resolve(Number(headers[':status']));
      });
    });
    req.end();
  });
}

t.test('client certificates: AllowValidOnly refuses, AllowInsecureFallback serves, per listener on one port (h1 and h2)', async (t) => {
  const e = await startEcho('e');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await e.close();
  });
  const rt = (name: string) => [route(name, {}, { backends: [backend('c')] })];
  const listeners = (aCA: CertKeyPair): ListenerIR[] => [
    listener('a', [vhost('a.example.com', rt('a'))], { hostname: 'a.example.com', tls: validation(aCA) }),
    listener('b', [vhost('b.example.com', rt('b'))], { hostname: 'b.example.com', tls: validation(caB) }),
    listener('fb', [vhost('fb.example.com', rt('fb'))], { hostname: 'fb.example.com', tls: validation(caA, 'AllowInsecureFallback') }),
    listener('any', [vhost('*', rt('any'))], { tls: certs }),
  ];
  const report = await dp.apply(table([port(p, listeners(caA), { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));
  t.same(Object.values(report.listeners).map((l) => l.programmed), [true, true, true, true]);

  // AllowValidOnly with CA A.
  await t.rejects(get(p, 'a.example.com', 'a.example.com'), 'no client certificate: the connection is refused');
  await t.rejects(get(p, 'a.example.com', 'a.example.com', clientB), 'a certificate from another CA is refused');
  const okA = await get(p, 'a.example.com', 'a.example.com', clientA);
  t.equal(okA.status, 200, 'a certificate from the listener CA is served');
  t.equal(log.at(-1)?.listener, 'default/gw/a');

  // Same port, another listener with another CA.
  await t.rejects(get(p, 'b.example.com', 'b.example.com', clientA), 'listener b trusts only CA B');
  t.equal((await get(p, 'b.example.com', 'b.example.com', clientB)).status, 200);

  // AllowInsecureFallback: asked, but served whatever the client presents.
  t.equal((await get(p, 'fb.example.com', 'fb.example.com')).status, 200, 'fallback: no certificate is served');
  t.equal((await get(p, 'fb.example.com', 'fb.example.com', clientB)).status, 200, 'fallback: an unverified certificate is served');
  t.equal((await get(p, 'fb.example.com', 'fb.example.com', clientA)).status, 200);

  // No validation on the catch-all listener.
  t.equal((await get(p, 'other.example.com', 'other.example.com')).status, 200, 'a listener without validation serves clients without certificates');

  // No way around the handshake by Host: through another listener's SNI, or without SNI.
  const viaOther = await get(p, 'other.example.com', 'a.example.com');
  t.equal(viaOther.status, 421, 'Host of a validating listener over a connection made for another SNI');
  const noSni = await get(p, undefined, 'a.example.com', clientA);
  t.equal(noSni.status, 421, 'without SNI the catch-all context served the handshake: it did not verify for listener a');
  t.equal(log.at(-1)?.reason, 'client_certificate_required');
  const viaFallback = await get(p, 'fb.example.com', 'a.example.com', clientA);
  t.equal(viaFallback.status, 421, 'a connection made through another listener does not count, even with the right certificate');

  // HTTP/2 (ALPN h2) goes through the same handshake gate.
  await t.rejects(getH2(p, 'a.example.com'), 'h2 without a client certificate is refused');
  t.equal(await getH2(p, 'a.example.com', clientA), 200, 'h2 with a valid client certificate is served');
  t.equal(await getH2(p, 'fb.example.com'), 200, 'h2 insecure fallback');

  // CA rotation: new connections are verified against the new CA.
  await dp.apply(table([port(p, listeners(caB), { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));
  await t.rejects(get(p, 'a.example.com', 'a.example.com', clientA), 'the old CA no longer verifies');
  t.equal((await get(p, 'a.example.com', 'a.example.com', clientB)).status, 200, 'the new CA does');
});

t.test('a port whose only listener validates refuses clients without SNI and without a certificate', async (t) => {
  const e = await startEcho('e');
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await e.close();
  });
  await dp.apply(table([port(p, [listener('any', [vhost('*', [route('r', {}, { backends: [backend('c')] })])], { tls: validation(caA) })], { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));
  await t.rejects(get(p, undefined, 'example.com'), 'no SNI, no certificate');
  t.equal((await get(p, undefined, 'example.com', clientA)).status, 200, 'no SNI, valid certificate: the default context validates too');
  await t.rejects(get(p, 'example.com', 'example.com', clientB));

  // Validation removed: clients are no longer asked.
  await dp.apply(table([port(p, [listener('any', [vhost('*', [route('r', {}, { backends: [backend('c')] })])], { tls: certs })], { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));
  t.equal((await get(p, undefined, 'example.com')).status, 200);
  t.equal((await get(p, 'example.com', 'example.com')).status, 200);
});

t.test('a client certificate whose issuer has the name but not the key of the trusted CA', async (t) => {
  // Two CAs with the same subject (the conformance suite makes its CAs this
  // way): OpenSSL checks the impostor's signature with the trusted CA's key,
  // fails, and leaves an error queued that used to break the next read (400).
  const trusted = createDevCA('same name CA');
  const impostorCA = createDevCA('same name CA');
  const genuine = trusted.issue(['genuine'], { clientAuth: true });
  const impostor = impostorCA.issue(['impostor'], { clientAuth: true });
  const e = await startEcho('e');
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await e.close();
  });
  const rt = (name: string) => [route(name, {}, { backends: [backend('c')] })];
  await dp.apply(table([port(p, [
    listener('strict', [vhost('strict.example.com', rt('strict'))], { hostname: 'strict.example.com', tls: validation(trusted) }),
    listener('lenient', [vhost('*', rt('lenient'))], { tls: validation(trusted, 'AllowInsecureFallback') }),
  ], { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));

  for (let i = 0; i < 3; i++) {
    t.equal((await get(p, 'lenient.example.com', 'lenient.example.com', impostor)).status, 200, 'insecure fallback serves the impostor');
  }
  await t.rejects(get(p, 'strict.example.com', 'strict.example.com', impostor), 'AllowValidOnly refuses the impostor');
  t.equal((await get(p, 'strict.example.com', 'strict.example.com', genuine)).status, 200, 'and serves the genuine certificate');
});
