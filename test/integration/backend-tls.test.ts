// BackendTLSPolicy end to end through `sluice run` (file mode): the real echo
// serving HTTPS and verifying client certificates, a CA in a ConfigMap, a
// Gateway backend client certificate from a Secret.
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { stringify } from 'yaml';
import { startEcho } from '../../src/echo/index.js';
import { createDevCA, tlsSecret } from '../../src/util/devcert.js';
import { eventually, freePort, gatewayYaml, httpGet, serveConfig } from './harness.js';

const GW_ADDR = '127.0.0.1';

t.test('TLS to the backend with the policy CA and hostname; the Gateway client certificate is presented', async (t) => {
  const ca = createDevCA('backend CA');
  const clientCA = createDevCA('client CA');
  const serving = ca.issue(['abc.example.com']);
  const client = clientCA.issue(['gateway.client'], { commonName: 'sluice-gateway', clientAuth: true });
  const echo = await startEcho({ https: '127.0.0.1:0', tls: { cert: serving.certPem, key: serving.keyPem, clientCa: clientCA.certPem }, name: 'tls-echo', namespace: 'default', log: null });
  t.teardown(() => echo.close());
  const port = await freePort(GW_ADDR);
  const service = (name: string): string => `---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  ports: [{ name: btls, port: 443, targetPort: ${echo.ports.https!} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: btls, port: ${echo.ports.https!}, protocol: TCP }]
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
`;
  const policy = (name: string, hostname: string, cm = 'backend-ca'): string => `---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: { name: ${name}, namespace: default }
spec:
  targetRefs: [{ group: '', kind: Service, name: ${name}, sectionName: btls }]
  validation:
    caCertificateRefs: [{ group: '', kind: ConfigMap, name: ${cm} }]
    hostname: ${hostname}
`;
  await serveConfig(t, `
${gatewayYaml('gw', [{ name: 'http', protocol: 'HTTP', port }], {
  address: GW_ADDR,
  extraSpec: '  tls:\n    backend:\n      clientCertificateRef: { name: gateway-client }\n',
})}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches: [{ path: { type: Exact, value: /good } }]
      backendRefs: [{ name: good, port: 443 }]
    - matches: [{ path: { type: Exact, value: /mismatch } }]
      backendRefs: [{ name: mismatch, port: 443 }]
    - matches: [{ path: { type: Exact, value: /missing-ca } }]
      backendRefs: [{ name: missing-ca, port: 443 }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: backend-ca, namespace: default }
data:
  ca.crt: ${JSON.stringify(ca.certPem)}
---
${stringify(tlsSecret('gateway-client', 'default', client))}
${service('good')}${service('mismatch')}${service('missing-ca')}
${policy('good', 'abc.example.com')}${policy('mismatch', 'mismatch.example.com')}${policy('missing-ca', 'abc.example.com', 'nope')}`);

  const good = await eventually(async () => {
    const r = await httpGet(`http://${GW_ADDR}:${port}/good`, { host: 'any.test' });
    return r.status === 200 ? r : undefined;
  }, 15_000, '200 through the TLS backend');
  const body = good.json<{ tls?: { serverName: string; peerCertificates?: string[] } }>();
  t.equal(body.tls?.serverName, 'abc.example.com', 'SNI is the policy hostname');
  const peers = body.tls?.peerCertificates ?? [];
  t.equal(peers.length, 1, 'the backend saw a client certificate');
  t.equal(new X509Certificate(peers[0]).fingerprint256, new X509Certificate(client.certPem).fingerprint256, 'it is the Gateway client certificate');
  t.equal((await httpGet(`http://${GW_ADDR}:${port}/mismatch`, { host: 'any.test' })).status, 502, 'a hostname the certificate does not carry fails');
  const missing = (await httpGet(`http://${GW_ADDR}:${port}/missing-ca`, { host: 'any.test' })).status;
  t.ok(missing >= 500 && missing <= 503, `a policy whose CA ConfigMap is missing fails with a 5xx (got ${missing})`);
});
