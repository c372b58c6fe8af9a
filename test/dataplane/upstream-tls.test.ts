import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import forge from 'node-forge';
import t, { type Test } from 'tap';
import type { ClusterIR } from '../../src/translate/ir.js';
import { createDevCA, type CertKeyPair } from '../../src/util/devcert.js';
import { backend, freePort, listener, port, request, route, table, testDataPlane, vhost } from './fixtures/helpers.js';

/**
 * TLS origination to backends (BackendTLSPolicy + Gateway backend client
 * certificates) against real HTTPS servers: trust comes from the policy CA,
 * identity from the hostname or the subjectAltNames (DNS and URI), and the
 * Gateway's client certificate is presented when set.
 */

const ca = createDevCA('backend CA');
const otherCA = createDevCA('unrelated CA');
const clientCA = createDevCA('client CA');
const clientCert = clientCA.issue(['gateway.client'], { commonName: 'sluice-gateway', clientAuth: true });

/** A leaf signed by `ca` with DNS names and URI SANs (devcert has no URI SANs). */
function serverCert(dns: readonly string[], uris: readonly string[]): CertKeyPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: dns[0] ?? 'backend' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...dns.map((value) => ({ type: 2, value })), ...uris.map((value) => ({ type: 6, value }))] },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

const backendCert = serverCert(['abc.example.com', 'other.example.com'], ['spiffe://abc.example.com/test-identity']);

interface Seen { sni: string; clientCN: string | undefined }

/** HTTPS/1.1 backend; with `clientCa` it requires a client certificate signed by it. Answers "ok <sni> <client CN>". */
async function httpsBackend(t: Test, clientCa?: string): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(
    { cert: backendCert.certPem, key: backendCert.keyPem, ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}) },
    (req: IncomingMessage, res: ServerResponse) => {
      const s = req.socket as TLSSocket;
      const entry = { sni: String(s.servername), clientCN: s.getPeerX509Certificate()?.subject.replace(/^CN=/, '') };
      seen.push(entry);
      res.end(`ok ${entry.sni} ${entry.clientCN ?? '-'}`);
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

type TLS = NonNullable<ClusterIR['tls']>;

async function proxyTo(t: Test, upstreamPort: number, clusters: Record<string, TLS>, protocol: ClusterIR['protocol'] = 'http1'): Promise<number> {
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(() => dp.close());
  const names = Object.keys(clusters);
  await dp.apply(table(
    [port(p, [listener('http', [vhost('*', names.map((n) => route(n, { path: { type: 'PathPrefix', value: `/${n}` } }, { backends: [backend(n)] })))])])],
    names.map((id) => ({ id, protocol, endpoints: [{ address: '127.0.0.1', port: upstreamPort }], tls: clusters[id] })),
  ));
  return p;
}

t.test('hostname verification: the policy hostname is the SNI and must match the certificate', async (t) => {
  const b = await httpsBackend(t);
  const p = await proxyTo(t, b.port, {
    good: { sni: 'abc.example.com', caPem: ca.certPem },
    mismatch: { sni: 'mismatch.example.com', caPem: ca.certPem },
    wrongca: { sni: 'abc.example.com', caPem: otherCA.certPem },
  });
  const ok = await request(p, '/good', { host: 'x.test' });
  t.equal(ok.status, 200);
  t.equal(ok.body, 'ok abc.example.com -');
  t.equal((await request(p, '/mismatch', { host: 'x.test' })).status, 502, 'a hostname the certificate does not carry is refused');
  t.equal((await request(p, '/wrongca', { host: 'x.test' })).status, 502, 'a certificate from another CA is refused');
});

t.test('subjectAltNames replace hostname verification: DNS and URI entries, any one matches', async (t) => {
  const b = await httpsBackend(t);
  const p = await proxyTo(t, b.port, {
    dns: { sni: 'abc.example.com', caPem: ca.certPem, subjectAltNames: ['other.example.com'] },
    dnsmismatch: { sni: 'abc.example.com', caPem: ca.certPem, subjectAltNames: ['dce.example.com'] },
    uri: { sni: 'abc.example.com', caPem: ca.certPem, subjectAltNames: ['spiffe://abc.example.com/test-identity'] },
    urimismatch: { sni: 'abc.example.com', caPem: ca.certPem, subjectAltNames: ['spiffe://def.example.com/test-identity'] },
    multi: { sni: 'abc.example.com', caPem: ca.certPem, subjectAltNames: ['spiffe://def.example.com/x', 'abc.example.com'] },
    multimismatch: { sni: 'abc.example.com', caPem: ca.certPem, subjectAltNames: ['spiffe://def.example.com/x', 'def.example.com'] },
    // The SNI matches the certificate, but the SANs (which replace it) do not.
    sanonly: { sni: 'abc.example.com', caPem: ca.certPem, subjectAltNames: ['spiffe://abc.example.com/other'] },
  });
  for (const path of ['/dns', '/uri', '/multi']) t.equal((await request(p, path, { host: 'x.test' })).status, 200, `${path} matches`);
  for (const path of ['/dnsmismatch', '/urimismatch', '/multimismatch', '/sanonly']) t.equal((await request(p, path, { host: 'x.test' })).status, 502, `${path} is refused`);
  t.ok(b.seen.every((s) => s.sni === 'abc.example.com'), 'the SNI is the policy hostname');
});

t.test('the Gateway client certificate is presented to a backend that requires one', async (t) => {
  const b = await httpsBackend(t, clientCA.certPem);
  const p = await proxyTo(t, b.port, {
    withcert: { sni: 'abc.example.com', caPem: ca.certPem, clientCertificate: { secret: 'default/client', certPem: clientCert.certPem, keyPem: clientCert.keyPem } },
    nocert: { sni: 'abc.example.com', caPem: ca.certPem },
  });
  const ok = await request(p, '/withcert', { host: 'x.test' });
  t.equal(ok.status, 200);
  t.equal(ok.body, 'ok abc.example.com sluice-gateway', 'the backend saw our client certificate');
  t.equal((await request(p, '/nocert', { host: 'x.test' })).status, 502, 'without a client certificate the backend refuses the handshake');
});

t.test('HTTP/2 over TLS (h2c clusters with a policy): ALPN h2, same verification', async (t) => {
  const seen: string[] = [];
  const server = createSecureServer({ cert: backendCert.certPem, key: backendCert.keyPem }, (req: Http2ServerRequest, res: Http2ServerResponse) => {
    seen.push(`${req.httpVersion} ${String((req.socket as TLSSocket).servername)} ${req.scheme}`);
    res.end('h2 ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const p = await proxyTo(t, (server.address() as AddressInfo).port, {
    good: { sni: 'abc.example.com', caPem: ca.certPem },
    bad: { sni: 'abc.example.com', caPem: otherCA.certPem },
  }, 'h2c');
  const ok = await request(p, '/good', { host: 'x.test' });
  t.equal(ok.status, 200);
  t.equal(ok.body, 'h2 ok');
  t.same(seen, ['2.0 abc.example.com https']);
  t.equal((await request(p, '/bad', { host: 'x.test' })).status, 502);
});
