import t from 'tap';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createDevCA, tlsSecret } from '../../src/util/devcert.js';

t.test('a dev CA issues leaf certificates that verify against it', async (t) => {
  const ca = createDevCA();
  const leaf = ca.issue(['localhost', '*.example.com', '127.0.0.1']);
  const caCert = new X509Certificate(ca.certPem);
  const cert = new X509Certificate(leaf.certPem);
  t.ok(caCert.ca, 'CA certificate has CA:true');
  t.ok(cert.verify(caCert.publicKey), 'leaf is signed by the CA');
  t.equal(cert.checkHost('localhost'), 'localhost');
  t.equal(cert.checkHost('foo.example.com'), '*.example.com', 'wildcard SAN covers a subdomain');
  t.equal(cert.checkHost('other.test'), undefined, 'unlisted name is not covered');
  t.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  t.ok(cert.checkPrivateKey(createPrivateKey(leaf.keyPem)), 'key matches certificate');
  const secret = tlsSecret('s', 'ns', leaf) as { data: Record<string, string>; type: string };
  t.equal(secret.type, 'kubernetes.io/tls');
  t.equal(Buffer.from(secret.data['tls.crt']!, 'base64').toString(), leaf.certPem);
});
