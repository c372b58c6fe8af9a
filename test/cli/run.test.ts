import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runServe, startGateway } from '../../src/cli/run.js';
import { freePort } from '../fixtures/ports.js';

class Sink {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

t.test('sluice run --help lists every option once, --ebpf included', async (t) => {
  const stdout = new Sink();
  const code = await runServe(['--help'], { stdout, stderr: new Sink() });
  t.equal(code, 0);
  const optionLines = stdout.text.split('\n').map((l) => /^\s+(--[a-z-]+)/.exec(l)?.[1]).filter((x): x is string => x !== undefined);
  t.equal(optionLines.filter((o) => o === '--ebpf').length, 1, '--ebpf described once');
  t.same(optionLines.filter((o, i) => optionLines.indexOf(o) !== i), [], 'no option described twice');
  t.ok(optionLines.includes('--tcp-idle-timeout'), '--tcp-idle-timeout described');
  t.ok(optionLines.includes('--kubernetes'), 'Kubernetes mode options still listed');
});

t.test('--tcp-idle-timeout must be a non-negative number of seconds', async (t) => {
  const io = { stdout: new Sink(), stderr: new Sink() };
  for (const bad of ['abc', '-1', '', 'Infinity']) {
    await t.rejects(runServe(['--config', '/nonexistent.yaml', `--tcp-idle-timeout=${bad}`], io), { code: 'ERR_SLUICE_USAGE' }, `rejects ${JSON.stringify(bad)}`);
  }
  await t.rejects(runServe(['--config', '/nonexistent.yaml', '--ebpf', 'maybe'], io), { code: 'ERR_SLUICE_USAGE' });
});

t.test('--http-server and --upstream-client take only their two values', async (t) => {
  const io = { stdout: new Sink(), stderr: new Sink() };
  await t.rejects(runServe(['--config', '/nonexistent.yaml', '--http-server', 'apache'], io), { code: 'ERR_SLUICE_USAGE', message: /--http-server/ });
  await t.rejects(runServe(['--config', '/nonexistent.yaml', '--upstream-client', 'curl'], io), { code: 'ERR_SLUICE_USAGE', message: /--upstream-client/ });
  const help = new Sink();
  await runServe(['--help'], { stdout: help, stderr: new Sink() });
  t.match(help.text, /--http-server native\|node/, '--http-server described');
});

t.test('startGateway({tcpIdleTimeoutMs}) reaches the L4 data plane: an idle TCPRoute connection is closed', async (t) => {
  const backend = net.createServer((s) => {
    s.on('error', () => undefined);
    s.write('hi\n');
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as net.AddressInfo).port;
  const [listenPort, adminPort] = [await freePort(), await freePort()];
  const dir = await mkdtemp(join(tmpdir(), 'sluice-run-'));
  const config = join(dir, 'gw.yaml');
  await writeFile(config, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw, namespace: default }
spec:
  gatewayClassName: sluice
  addresses: [{ type: IPAddress, value: 127.0.0.1 }]
  listeners: [{ name: tcp, protocol: TCP, port: ${listenPort} }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  rules: [{ backendRefs: [{ name: b, port: 80 }] }]
---
apiVersion: v1
kind: Service
metadata: { name: b, namespace: default }
spec: { ports: [{ name: p, port: 80, protocol: TCP, targetPort: ${backendPort} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: b-1, namespace: default, labels: { kubernetes.io/service-name: b } }
addressType: IPv4
ports: [{ name: p, port: ${backendPort}, protocol: TCP }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`);
  // --ebpf off: the idle timer covers userspace relays only.
  const gw = await startGateway({ config, admin: `127.0.0.1:${adminPort}`, ebpf: 'off', tcpIdleTimeoutMs: 300, logLevel: 'error' });
  t.teardown(async () => {
    await gw.stop();
    await new Promise<void>((resolve) => backend.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });
  const got = await new Promise<string>((resolve, reject) => {
    const c = net.connect({ host: '127.0.0.1', port: listenPort });
    let data = '';
    c.on('data', (d: Buffer) => (data += d.toString()));
    c.once('error', reject);
    c.once('end', () => resolve(data));
  });
  t.equal(got, 'hi\n', 'the backend answered, then the gateway closed the idle connection');
});
