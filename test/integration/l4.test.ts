// L4 routes through the real `bin/sluice run` process: TLSRoute passthrough
// and terminate on one port (TLSRouteModeMixed), TCPRoute with weights,
// UDPRoute, against the echo backends (`sluice echo` TCP/TLS/UDP modes).
// The process runs with the default --ebpf auto: as root with the addon it
// splices TLS passthrough and TCPRoute connections in the kernel; otherwise it
// relays them in userspace. One case forces --ebpf off.
import { createSocket } from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import t from 'tap';
import { stringify } from 'yaml';
import { startEcho } from '../../src/echo/index.js';
import type { EchoServer } from '../../src/echo/index.js';
import { createDevCA, tlsSecret } from '../../src/util/devcert.js';
import { eventually, freePort, gatewayYaml, httpGet, serveConfig } from './harness.js';

const GW = '127.0.0.1';
const WELCOME = 'Gateway API Test TCP Server';

/** Service + EndpointSlice for an L4 backend port (TCP or UDP). */
function l4Service(name: string, port: number, protocol: 'TCP' | 'UDP', servicePort: number): string {
  return `---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  ports: [{ name: p, port: ${servicePort}, protocol: ${protocol}, targetPort: ${port} }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: p, port: ${port}, protocol: ${protocol} }]
endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }]
`;
}

interface TestPayload {
  pod: string;
  isTLS: boolean;
  tls?: { serverName: string };
}

/** The echo's TCP protocol: welcome line, then TEST -> JSON. Works over TCP or TLS sockets. */
function askTest(socket: net.Socket): Promise<TestPayload> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let greeted = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!greeted) {
          if (line !== WELCOME) reject(new Error(`unexpected greeting ${JSON.stringify(line)}`));
          greeted = true;
          socket.write('TEST\n');
        } else {
          resolve(JSON.parse(line) as TestPayload);
          socket.end();
        }
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the TEST answer')));
  });
}

function tcpTest(port: number): Promise<TestPayload> {
  return askTest(net.connect({ host: GW, port }));
}

function tlsTest(port: number, servername: string, ca: string): Promise<TestPayload> {
  return askTest(tls.connect({ host: GW, port, servername, ca }));
}

function udpAsk(port: number, message: string): Promise<{ request: string; pod: string }> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP answer'));
    }, 1000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(JSON.parse(m.toString()) as { request: string; pod: string });
    });
    s.send(message, port, GW);
  });
}

t.test('TLSRoute (passthrough and terminate on one port), TCPRoute with weights and UDPRoute through sluice run', async (t) => {
  const ca = createDevCA();
  const backendCert = ca.issue(['abc.example.com']);
  const gatewayCert = ca.issue(['tls.example.com']);
  const echoes: EchoServer[] = [];
  const echo = async (name: string, opts: Parameters<typeof startEcho>[0]): Promise<EchoServer> => {
    const e = await startEcho({ name, namespace: 'default', quiet: true, ...opts });
    echoes.push(e);
    return e;
  };
  const tlsBackend = await echo('tls-backend', { tcpTls: '127.0.0.1:0', tls: { cert: backendCert.certPem, key: backendCert.keyPem } });
  const tcpBackend = await echo('tcp-backend', { tcp: '127.0.0.1:0' });
  const v1 = await echo('tcp-v1', { tcp: '127.0.0.1:0' });
  const v2 = await echo('tcp-v2', { tcp: '127.0.0.1:0' });
  const v3 = await echo('tcp-v3', { tcp: '127.0.0.1:0' });
  const udp = await echo('udp-backend', { udp: '127.0.0.1:0' });
  const [tlsPort, tcpPort, udpPort] = [await freePort(GW), await freePort(GW), await freePort(GW)];
  const { sluice } = await serveConfig(t, `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: l4, namespace: default }
spec:
  gatewayClassName: sluice
  addresses: [{ type: IPAddress, value: ${GW} }]
  listeners:
    - { name: tls-passthrough, protocol: TLS, port: ${tlsPort}, hostname: abc.example.com, tls: { mode: Passthrough } }
    - name: tls-terminate
      protocol: TLS
      port: ${tlsPort}
      hostname: tls.example.com
      tls: { mode: Terminate, certificateRefs: [{ name: gateway-cert }] }
    - { name: tcp, protocol: TCP, port: ${tcpPort} }
    - { name: udp, protocol: UDP, port: ${udpPort} }
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: { name: passthrough, namespace: default }
spec:
  parentRefs: [{ name: l4, sectionName: tls-passthrough }]
  hostnames: [abc.example.com]
  rules: [{ backendRefs: [{ name: tls-backend, port: 443 }] }]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: { name: terminate, namespace: default }
spec:
  parentRefs: [{ name: l4, sectionName: tls-terminate }]
  hostnames: [tls.example.com]
  rules: [{ backendRefs: [{ name: tcp-backend, port: 3000 }] }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: weighted, namespace: default }
spec:
  parentRefs: [{ name: l4, sectionName: tcp }]
  rules:
    - backendRefs:
        - { name: tcp-v1, port: 3000, weight: 2 }
        - { name: tcp-v2, port: 3000, weight: 1 }
        - { name: tcp-v3, port: 3000, weight: 0 }
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: { name: dns, namespace: default }
spec:
  parentRefs: [{ name: l4, sectionName: udp }]
  rules: [{ backendRefs: [{ name: udp-backend, port: 53 }] }]
---
${stringify(tlsSecret('gateway-cert', 'default', gatewayCert))}
${l4Service('tls-backend', tlsBackend.ports.tcpTls!, 'TCP', 443)}
${l4Service('tcp-backend', tcpBackend.ports.tcp!, 'TCP', 3000)}
${l4Service('tcp-v1', v1.ports.tcp!, 'TCP', 3000)}
${l4Service('tcp-v2', v2.ports.tcp!, 'TCP', 3000)}
${l4Service('tcp-v3', v3.ports.tcp!, 'TCP', 3000)}
${l4Service('udp-backend', udp.ports.udp!, 'UDP', 53)}`);
  t.teardown(async () => {
    await Promise.all(echoes.map((e) => e.close()));
  });

  const pass = await tlsTest(tlsPort, 'abc.example.com', ca.certPem);
  t.equal(pass.pod, 'tls-backend', 'passthrough reached the TLS backend');
  t.equal(pass.isTLS, true, 'the backend terminated TLS itself');
  t.equal(pass.tls?.serverName, 'abc.example.com', 'with the client SNI');

  const term = await tlsTest(tlsPort, 'tls.example.com', ca.certPem);
  t.equal(term.pod, 'tcp-backend', 'terminate reached the plaintext backend');
  t.equal(term.isTLS, false, 'TLS ended at the gateway');

  const rejected = await new Promise<string>((resolve) => {
    const s = tls.connect({ host: GW, port: tlsPort, servername: 'other.example.com', ca: ca.certPem });
    s.once('secureConnect', () => resolve('connected'));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.not(rejected, 'connected', 'an SNI no listener serves is refused');

  const pods: string[] = [];
  for (let i = 0; i < 6; i++) pods.push((await tcpTest(tcpPort)).pod);
  t.equal(pods.filter((p) => p === 'tcp-v1').length, 4, 'weight 2 of 3');
  t.equal(pods.filter((p) => p === 'tcp-v2').length, 2, 'weight 1 of 3');
  t.notOk(pods.includes('tcp-v3'), 'weight 0 gets nothing');

  const answer = await udpAsk(udpPort, 'hello-udp');
  t.equal(answer.request, 'hello-udp');
  t.equal(answer.pod, 'udp-backend');

  const lines = await eventually(async () => {
    const l4 = sluice.stdout().split('\n').filter((l) => l.includes('"protocol":')).map((l) => JSON.parse(l) as Record<string, unknown>);
    return l4.length >= 9 ? l4 : undefined;
  }, 10_000, 'L4 access log lines');
  const passLine = lines.find((l) => l.protocol === 'tls-passthrough' && l.host === 'abc.example.com');
  t.equal(passLine?.listener, 'default/l4/tls-passthrough');
  t.equal(passLine?.route, 'default/passthrough/0');
  t.equal(passLine?.reason, 'closed');
  t.ok(Number(passLine?.bytes) > 0 && Number(passLine?.bytes_received) > 0, 'bytes both ways logged');
  t.ok(lines.some((l) => l.protocol === 'tls-terminate' && l.route === 'default/terminate/0'), 'terminate line');
  t.ok(lines.some((l) => l.protocol === 'tls-passthrough' && l.host === 'other.example.com' && l.reason === 'no_listener'), 'refusal line');
  const relays = new Set(lines.filter((l) => l.protocol === 'tcp' || l.protocol === 'tls-passthrough').filter((l) => l.reason === 'closed').map((l) => l.relay));
  // --ebpf auto: spliced when the self-test passed (root with the addon), piped otherwise.
  const splicing = sluice.stderr().includes('eBPF sockmap splicing on');
  t.same([...relays], [splicing ? 'kernel' : 'userspace'], `passthrough and TCP connections relayed by ${splicing ? 'the kernel' : 'userspace'}`);

  const metrics = (await httpGet(`${sluice.admin}/metrics`)).body;
  t.match(metrics, /sluice_l4_connections_total\{listener="default\/l4\/tcp",protocol="tcp",reason="closed"\} 6/, 'L4 connection metrics');
  t.match(metrics, /sluice_l4_bytes_total\{listener="default\/l4\/tls-passthrough",direction="rx"\} [1-9]/, 'L4 byte metrics');
  t.match(metrics, new RegExp(`sluice_splice_enabled ${splicing ? 1 : 0}`), 'splice engine metrics');

  const dump = await httpGet(`${sluice.admin}/config_dump`);
  const statuses = (dump.json<{ statuses: { kind: string; name: string; status: { parents?: { conditions: { type: string; status: string }[] }[] } }[] }>()).statuses;
  for (const kind of ['TLSRoute', 'TCPRoute', 'UDPRoute']) {
    const routes = statuses.filter((s) => s.kind === kind);
    t.ok(routes.length > 0 && routes.every((r) => r.status.parents?.[0]?.conditions.every((c) => c.status === 'True')), `${kind}s Accepted and ResolvedRefs`);
  }
});

t.test('TCPRoute with --ebpf off: half-close through the process, userspace relay', async (t) => {
  // A backend that answers only after the client's FIN.
  const received: Buffer[] = [];
  const backend = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d: Buffer) => received.push(d));
    s.on('end', () => s.end(`got ${Buffer.concat(received).length}\n`));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as net.AddressInfo).port;
  const port = await freePort(GW);
  const { sluice } = await serveConfig(t, `
${gatewayYaml('tcp', [{ name: 'tcp', protocol: 'TCP', port }], { address: GW })}
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: r, namespace: default }
spec:
  parentRefs: [{ name: tcp }]
  rules: [{ backendRefs: [{ name: b, port: 9000 }] }]
${l4Service('b', backendPort, 'TCP', 9000)}`, { extraArgs: ['--ebpf', 'off'] });
  t.teardown(async () => {
    await new Promise<void>((resolve) => backend.close(() => resolve()));
  });
  const s = net.connect({ host: GW, port, allowHalfOpen: true });
  const reply = new Promise<string>((resolve) => {
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString();
    });
    s.on('end', () => resolve(buf));
  });
  s.end(Buffer.alloc(100_000, 1));
  t.equal(await reply, 'got 100000\n', 'client FIN forwarded after every byte; the answer and the backend FIN came back');
  const line = await eventually(async () => sluice.stdout().split('\n').find((l) => l.includes('"protocol":"tcp"')), 10_000, 'access log line');
  t.match(JSON.parse(line) as object, { relay: 'userspace', reason: 'closed', bytes_received: 100000 });
});
