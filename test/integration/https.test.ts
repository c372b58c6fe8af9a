// HTTPS termination through `sluice run`: certificates from Secrets, SNI,
// 421 for a Host outside the SNI's listener, a port that cannot be bound.
import t from 'tap';
import { createServer } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { Agent } from 'undici';
import { stringify } from 'yaml';
import { startEcho } from '../../src/echo/index.js';
import { createDevCA, tlsSecret } from '../../src/util/devcert.js';
import { eventually, freePort, gatewayYaml, httpGet, httpRouteYaml, serveConfig, serviceYaml } from './harness.js';

const GW_ADDR = '127.0.0.1';

t.test('HTTPS listeners pick the certificate by SNI and refuse a Host from another listener', async (t) => {
  const echo = await startEcho({ listen: '127.0.0.1:0', name: 'echo', namespace: 'default', quiet: true });
  const ca = createDevCA();
  const fooCert = ca.issue(['foo.example.com']);
  const wildCert = ca.issue(['*.example.com']);
  const port = await freePort(GW_ADDR);
  const { sluice } = await serveConfig(t, `
${gatewayYaml('tls', [
  { name: 'foo', protocol: 'HTTPS', port, hostname: 'foo.example.com', certificateRef: 'foo-cert' },
  { name: 'wildcard', protocol: 'HTTPS', port, hostname: '*.example.com', certificateRef: 'wild-cert' },
], { address: GW_ADDR })}
${httpRouteYaml('web', 'echo', { parent: 'tls' })}
---
${stringify(tlsSecret('foo-cert', 'default', fooCert))}
---
${stringify(tlsSecret('wild-cert', 'default', wildCert))}
${serviceYaml('echo', 'default', '127.0.0.1', echo.ports.http!)}`);
  t.teardown(async () => {
    await echo.close();
  });

  const tlsAgent = (servername: string): Agent => new Agent({ connect: { ca: ca.certPem, servername } });

  const foo = await httpGet(`https://${GW_ADDR}:${port}/a`, { host: 'foo.example.com', dispatcher: tlsAgent('foo.example.com') });
  t.equal(foo.status, 200, 'exact listener serves with its certificate (the CA verifies it for foo.example.com)');
  t.equal(foo.json().host, 'foo.example.com');

  const bar = await httpGet(`https://${GW_ADDR}:${port}/b`, { host: 'bar.example.com', dispatcher: tlsAgent('bar.example.com') });
  t.equal(bar.status, 200, 'wildcard listener serves bar.example.com with the wildcard certificate');

  // node:https, not undici: undici derives the SNI from the Host header.
  const misdirected = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest({ host: GW_ADDR, port, path: '/c', servername: 'foo.example.com', ca: ca.certPem, headers: { host: 'bar.example.com' }, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(misdirected, 421, 'a Host outside the SNI listener gets 421 Misdirected Request');
});

t.test('a port that cannot be bound marks its listener not Programmed; the others serve', async (t) => {
  const echo = await startEcho({ listen: '127.0.0.1:0', name: 'echo', namespace: 'default', quiet: true });
  const blocker = createServer();
  const busyPort = await freePort(GW_ADDR);
  await new Promise<void>((r) => blocker.listen(busyPort, GW_ADDR, () => r()));
  const goodPort = await freePort(GW_ADDR);
  const { sluice } = await serveConfig(t, `
${gatewayYaml('gw', [{ name: 'busy', protocol: 'HTTP', port: busyPort }, { name: 'good', protocol: 'HTTP', port: goodPort }], { address: GW_ADDR })}
${httpRouteYaml('web', 'echo')}
${serviceYaml('echo', 'default', '127.0.0.1', echo.ports.http!)}`, { waitReady: false });
  t.teardown(async () => {
    await echo.close();
    blocker.close();
  });
  // Ready never comes (a listener is unbound); wait for the good one to serve.
  const res = await eventually(async () => {
    const r = await httpGet(`http://${GW_ADDR}:${goodPort}/`);
    return r.status === 200 ? r : undefined;
  }, 15_000, 'the bindable listener');
  t.equal(res.status, 200, 'the bindable listener serves');
  const ready = await fetch(`${sluice.admin}/readyz`);
  t.equal(ready.status, 503, 'not ready while a listener is unbound');
  t.match(await ready.text(), new RegExp(`${busyPort}`), 'readyz names the port');
  const dump = (await (await fetch(`${sluice.admin}/config_dump`)).json()) as {
    statuses: Array<{ kind: string; status: { listeners?: Array<{ name: string; conditions: Array<{ type: string; status: string; message: string }> }> } }>;
  };
  const listeners = dump.statuses.find((s) => s.kind === 'Gateway')?.status.listeners ?? [];
  const busy = listeners.find((l) => l.name === 'busy')?.conditions.find((c) => c.type === 'Programmed');
  const good = listeners.find((l) => l.name === 'good')?.conditions.find((c) => c.type === 'Programmed');
  t.equal(busy?.status, 'False', 'busy listener is not Programmed');
  t.match(busy?.message ?? '', /EADDRINUSE|in use/i, 'with a clear message');
  t.equal(good?.status, 'True', 'the other listener is Programmed');
});
