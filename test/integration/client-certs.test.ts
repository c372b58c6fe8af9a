// Gateway spec.tls.frontend through `sluice run` (YAML file source): client CA
// bundles from ConfigMaps, AllowValidOnly on the default, AllowInsecureFallback
// on a perPort override.
import t from 'tap';
import { Agent } from 'undici';
import { stringify } from 'yaml';
import { startEcho } from '../../src/echo/index.js';
import { createDevCA, tlsSecret, type CertKeyPair } from '../../src/util/devcert.js';
import { freePort, httpGet, httpRouteYaml, serveConfig, serviceYaml } from './harness.js';

const GW_ADDR = '127.0.0.1';

t.test('client certificates are required, verified against the ConfigMap CA, or optional with insecure fallback', async (t) => {
  const echo = await startEcho({ listen: '127.0.0.1:0', name: 'echo', namespace: 'default', quiet: true });
  const serverCA = createDevCA('server CA');
  const clientCA = createDevCA('client CA');
  const otherCA = createDevCA('other CA');
  const serverCert = serverCA.issue(['example.com']);
  const client = clientCA.issue(['client'], { clientAuth: true });
  const stranger = otherCA.issue(['stranger'], { clientAuth: true });
  const strict = await freePort(GW_ADDR);
  const lenient = await freePort(GW_ADDR);
  const caConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'client-ca', namespace: 'default' }, data: { 'ca.crt': clientCA.certPem } };
  await serveConfig(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: mtls, namespace: default }
spec:
  gatewayClassName: sluice
  addresses: [{ type: IPAddress, value: ${GW_ADDR} }]
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{ group: "", kind: ConfigMap, name: client-ca }]
      perPort:
        - port: ${lenient}
          tls:
            validation:
              mode: AllowInsecureFallback
              caCertificateRefs: [{ group: "", kind: ConfigMap, name: client-ca }]
  listeners:
    - name: strict
      protocol: HTTPS
      port: ${strict}
      tls: { certificateRefs: [{ name: server-cert }] }
    - name: lenient
      protocol: HTTPS
      port: ${lenient}
      tls: { certificateRefs: [{ name: server-cert }] }
${httpRouteYaml('web', 'echo', { parent: 'mtls' })}
---
${stringify(tlsSecret('server-cert', 'default', serverCert))}
---
${stringify(caConfigMap)}
${serviceYaml('echo', 'default', '127.0.0.1', echo.ports.http!)}`);
  const agents: Agent[] = [];
  t.teardown(async () => {
    await Promise.all(agents.map((a) => a.close()));
    await echo.close();
  });
  const get = (port: number, pair?: CertKeyPair): ReturnType<typeof httpGet> => {
    const agent = new Agent({ connect: { ca: serverCA.certPem, servername: 'example.com', ...(pair ? { cert: pair.certPem, key: pair.keyPem } : {}) } });
    agents.push(agent);
    return httpGet(`https://${GW_ADDR}:${port}/`, { host: 'example.com', dispatcher: agent });
  };

  await t.rejects(get(strict), 'AllowValidOnly: no client certificate, no HTTP');
  await t.rejects(get(strict, stranger), 'AllowValidOnly: a certificate from another CA, no HTTP');
  const ok = await get(strict, client);
  t.equal(ok.status, 200, 'AllowValidOnly: a certificate from the ConfigMap CA is served');

  t.equal((await get(lenient)).status, 200, 'AllowInsecureFallback: served without a certificate');
  t.equal((await get(lenient, stranger)).status, 200, 'AllowInsecureFallback: served with an unverified certificate');
  t.equal((await get(lenient, client)).status, 200);
});
