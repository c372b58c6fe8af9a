import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import t from 'tap';
import { createDevCA, type CertKeyPair } from '../../src/util/devcert.js';
import type { CertificateIR, ListenerIR } from '../../src/translate/ir.js';
import { backend, cluster, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost } from './fixtures/helpers.js';

const ca = createDevCA('dataplane test CA');
const certA = ca.issue(['a.example.com']);
const certWild = ca.issue(['*.example.com']);
const certDefault = ca.issue(['default.test']);
const certA2 = ca.issue(['a.example.com']);

const ir = (secret: string, pair: CertKeyPair): CertificateIR => ({ secret, certPem: pair.certPem, keyPem: pair.keyPem });

/** Connect with this SNI (or none) and return the served certificate's subjectAltName. */
function servedCert(p: number, servername: string | undefined): Promise<{ san: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: p, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const raw = s.getPeerX509Certificate();
      s.destroy();
      if (!raw) return reject(new Error('no certificate'));
      resolve({ san: raw.subjectAltName ?? '', fingerprint: raw.fingerprint256 });
    });
    s.on('error', reject);
  });
}

t.test('SNI picks the certificate by listener hostname, exact before wildcard; 421 on a foreign Host', async (t) => {
  const e = await startEcho('e');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await e.close();
  });
  const rt = (name: string) => [route(name, {}, { backends: [backend('c')] })];
  const listeners = (aCert: CertKeyPair): ListenerIR[] => [
    listener('a', [vhost('a.example.com', rt('a'))], { hostname: 'a.example.com', tls: { certificates: [ir('default/a', aCert)] } }),
    listener('wild', [vhost('*.example.com', rt('wild'))], { hostname: '*.example.com', tls: { certificates: [ir('default/wild', certWild)] } }),
    listener('any', [vhost('*', rt('any'))], { tls: { certificates: [ir('default/default', certDefault)] } }),
  ];
  const report = await dp.apply(table([port(p, listeners(certA), { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));
  t.same(Object.values(report.listeners).map((l) => l.programmed), [true, true, true]);

  t.equal((await servedCert(p, 'a.example.com')).san, 'DNS:a.example.com', 'exact listener certificate');
  t.equal((await servedCert(p, 'b.example.com')).san, 'DNS:*.example.com', 'wildcard listener certificate');
  t.equal((await servedCert(p, 'x.y.example.com')).san, 'DNS:*.example.com');
  t.equal((await servedCert(p, 'other.org')).san, 'DNS:default.test', 'catch-all listener certificate');
  t.equal((await servedCert(p, undefined)).san, 'DNS:default.test', 'no SNI gets the catch-all certificate');

  const ok = await request(p, '/', { host: 'a.example.com', tls: { servername: 'a.example.com', ca: ca.certPem } });
  t.equal(ok.status, 200, 'the certificate verifies against the CA');
  t.same(ok.json().headers['x-forwarded-proto'], ['https']);
  t.equal(log.at(-1)?.listener, 'default/gw/a');

  const wild = await request(p, '/', { host: 'b.example.com', tls: { servername: 'b.example.com', ca: ca.certPem } });
  t.equal(wild.status, 200);
  t.equal(log.at(-1)?.listener, 'default/gw/wild');

  const misdirected = await request(p, '/', { host: 'b.example.com', tls: { servername: 'a.example.com', ca: ca.certPem } });
  t.equal(misdirected.status, 421, 'Host of another listener than the SNI -> 421');
  t.equal(log.at(-1)?.reason, 'misdirected_request');

  const sameListener = await request(p, '/', { host: 'c.example.com', tls: { servername: 'b.example.com', ca: ca.certPem } });
  t.equal(sameListener.status, 200, 'another host of the same wildcard listener is fine');

  // Certificate rotation: a new table with a new PEM for the same listener; the port stays bound.
  const before = await servedCert(p, 'a.example.com');
  await dp.apply(table([port(p, listeners(certA2), { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));
  const after = await servedCert(p, 'a.example.com');
  t.not(after.fingerprint, before.fingerprint, 'new connections get the rotated certificate');
  t.equal(after.fingerprint, new X509Certificate(certA2.certPem).fingerprint256);
  t.equal((await servedCert(p, 'b.example.com')).san, 'DNS:*.example.com', 'other listeners keep theirs');
});

t.test('a listener with an unusable certificate is reported, others still serve', async (t) => {
  const e = await startEcho('e');
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await e.close();
  });
  const report = await dp.apply(table([port(p, [
    listener('bad', [vhost('bad.example.com', [route('b', {}, { backends: [backend('c')] })])], {
      hostname: 'bad.example.com', tls: { certificates: [{ secret: 'default/broken', certPem: 'not a pem', keyPem: 'nope' }] },
    }),
    listener('good', [vhost('*', [route('g', {}, { backends: [backend('c')] })])], { tls: { certificates: [ir('default/default', certDefault)] } }),
  ], { protocol: 'HTTPS' })], [cluster('c', [e.endpoint])]));
  t.equal(report.listeners['default/gw/bad'].programmed, false);
  t.equal(report.listeners['default/gw/bad'].reason, 'InvalidCertificateRef');
  t.match(report.listeners['default/gw/bad'].message, /default\/broken/);
  t.notMatch(report.listeners['default/gw/bad'].message ?? '', /not a pem/, 'the message never contains the PEM');
  t.equal(report.listeners['default/gw/good'].programmed, true);
  const r = await request(p, '/', { host: 'x.test', tls: { servername: 'x.test' } });
  t.equal(r.status, 200);
});

t.test('TLS to the upstream (BackendTLSPolicy): SNI from the policy, verified against its CA', async (t) => {
  const backendCert = ca.issue(['backend.internal']);
  const seenSni: string[] = [];
  const { default: httpsMod } = await import('node:https');
  const server = httpsMod.createServer({ cert: backendCert.certPem, key: backendCert.keyPem }, (req, res) => {
    seenSni.push(String((req.socket as tls.TLSSocket).servername));
    res.end(`secure ${req.headers.host}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const upPort = (server.address() as { port: number }).port;
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    server.closeAllConnections();
    server.close();
  });
  const other = createDevCA('unrelated CA');
  await dp.apply(table([port(p, [listener('http', [vhost('*', [
    route('good', { path: { type: 'PathPrefix', value: '/good' } }, { backends: [backend('tls-good')] }),
    route('bad', { path: { type: 'PathPrefix', value: '/bad' } }, { backends: [backend('tls-bad')] }),
  ])])])], [
    { id: 'tls-good', protocol: 'http1', endpoints: [{ address: '127.0.0.1', port: upPort }], tls: { sni: 'backend.internal', caPem: ca.certPem } },
    { id: 'tls-bad', protocol: 'http1', endpoints: [{ address: '127.0.0.1', port: upPort }], tls: { sni: 'backend.internal', caPem: other.certPem } },
  ]));
  for (const host of ['a.example.com', 'b.example.com']) {
    const r = await request(p, '/good', { host });
    t.equal(r.status, 200);
    t.equal(r.body, `secure ${host}`);
  }
  t.same(seenSni, ['backend.internal', 'backend.internal'], 'SNI is the policy hostname, not the request Host');
  const bad = await request(p, '/bad', { host: 'a.example.com' });
  t.equal(bad.status, 502, 'a certificate from another CA is refused');
  t.not(log.at(-1)?.upstream_error, '');
});
