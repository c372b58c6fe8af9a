// The fake kubelet and its pod network on the real test cluster: a Deployment's pods are bound,
// become Ready with pod IPs from the namespace's /16, get EndpointSlices, answer through the
// veth with their fieldRef identity and their Secret-volume certificate, their logs come back
// through the API server's pods/log proxy, the coredns stand-in answers DNS, and deleting the
// Deployment stops the processes and finishes the pods' graceful deletion.
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
import { goAvailable, startCluster } from '../k8s-cluster/cluster.js';
import { KubeApi } from './kubelet/kube-api.ts';
import { podNetworkUnavailable } from './kubelet/netns.ts';
import type { Pod } from './kubelet/pod-spec.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const NS = 'kubelet-test';

function skipLoudly(why: string): void {
  const banner = '#'.repeat(78);
  console.error(`${banner}\n# SKIPPING the fake kubelet tests: ${why}\n${banner}`);
  t.plan(0, why);
}

async function poll<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

function selfSigned(cn: string): { cert: string; key: string } {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: cn }] }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return fetch(url, { signal: AbortSignal.timeout(5_000) }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

function httpsPeerCert(host: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host, port, path: '/', servername, rejectUnauthorized: false, timeout: 5_000 }, (res) => {
      const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.resume();
      const cn = peer.subject?.CN;
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
    });
    req.on('error', reject);
    req.end();
  });
}

function dnsQuery(host: string, name: string): Promise<Buffer> {
  const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const msg = Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
  return new Promise((resolve, reject) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('no DNS answer'));
    }, 3_000);
    sock.once('message', (m: Buffer) => {
      clearTimeout(timer);
      sock.close();
      resolve(m);
    });
    sock.send(msg, 53, host);
  });
}

const noNet = podNetworkUnavailable();
if (!goAvailable()) skipLoudly('`go` is not installed, so the test cluster cannot be built');
else if (noNet) skipLoudly(`the pod network cannot be created here: ${noNet}`);
else {
  t.setTimeout(30 * 60_000);
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: npm run build first');
  const cluster = await startCluster();
  t.teardown(() => cluster.stop());
  const api = new KubeApi(cluster.kubeconfig);
  t.teardown(() => api.close());

  const state = mkdtempSync(join(tmpdir(), 'sluice-kubelet-test-'));
  const tag = `k${process.pid % 100000}`;
  const kubelet: ChildProcess = spawn(
    NODE,
    [fileURLToPath(new URL('./kubelet/main.ts', import.meta.url)), '--kubeconfig', cluster.kubeconfig, '--client-ca', join(cluster.dir, 'pki', 'ca.crt'), '--state-dir', state, '--network-tag', tag],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let kubeletLog = '';
  kubelet.stderr!.on('data', (d: Buffer) => (kubeletLog = (kubeletLog + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => kubelet.once('exit', () => resolve()));
  t.teardown(async () => {
    kubelet.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    kubelet.kill('SIGKILL');
    rmSync(state, { recursive: true, force: true });
  });
  const ready = await new Promise<{ node: string; cidr: string; namespace: string }>((resolve, reject) => {
    let out = '';
    kubelet.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^READY (.*)$/m.exec(out);
      if (m) resolve(JSON.parse(m[1]!) as { node: string; cidr: string; namespace: string });
    });
    void exited.then(() => reject(new Error(`the fake kubelet exited:\n${kubeletLog}`)));
  });
  const prefix = ready.cidr.split('.').slice(0, 2).join('.') + '.';

  const tls = selfSigned('backend.example');
  await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await poll('the default ServiceAccount', 60_000, async () => (await api.getOptional(`/api/v1/namespaces/${NS}/serviceaccounts/default`)) ? true : undefined);
  await api.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'backend-cert' }, type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(tls.cert).toString('base64'), 'tls.key': Buffer.from(tls.key).toString('base64') },
  });
  await api.request('POST', `/api/v1/namespaces/${NS}/configmaps`, {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns' },
    data: { Corefile: '.:53 {\n    forward . 8.8.8.8\n}\nfoo.bar.com:53 {\n  whoami\n}\n' },
  });
  const deployment = (name: string, labels: Record<string, string>, podSpec: Record<string, unknown>, replicas = 1) => ({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
  });
  await api.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment('echo', { app: 'echo' }, {
    containers: [{
      name: 'echo',
      image: 'registry.k8s.io/gateway-api/echo-basic:v1.5.1',
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'TLS_SERVER_CERT', value: '/etc/secret-volume/tls.crt' },
        { name: 'TLS_SERVER_PRIVKEY', value: '/etc/secret-volume/tls.key' },
      ],
      volumeMounts: [{ name: 'secret-volume', mountPath: '/etc/secret-volume' }],
    }],
    volumes: [{ name: 'secret-volume', secret: { secretName: 'backend-cert' } }],
  }, 2));
  await api.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, deployment('coredns', { app: 'udp' }, {
    containers: [{ name: 'coredns', image: 'registry.k8s.io/coredns/coredns:v1.12.2', args: ['-conf', '/root/Corefile'], volumeMounts: [{ name: 'conf', mountPath: '/root' }] }],
    volumes: [{ name: 'conf', configMap: { name: 'coredns' } }],
  }));
  await api.request('POST', `/api/v1/namespaces/${NS}/services`, {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo' },
    spec: { selector: { app: 'echo' }, ports: [{ name: 'http', port: 8080, targetPort: 3000 }] },
  });

  const readyPods = (app: string, n: number) =>
    poll(`${n} Ready ${app} pods`, 120_000, async () => {
      const list = await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3D${app}`);
      const ok = list.items.filter((p) => (p.status?.conditions as Array<{ type: string; status: string }> | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ok.length === n ? ok : undefined;
    });

  const echoPods = await readyPods('echo', 2);
  const dnsPod = (await readyPods('udp', 1))[0]!;

  t.test('pods are bound, Running and Ready with pod IPs from the pod network', async (t) => {
    for (const p of [...echoPods, dnsPod]) {
      t.equal(p.spec.nodeName, ready.node, `${p.metadata.name} bound to the fake node`);
      t.equal(p.status?.phase, 'Running');
      t.ok(p.status?.podIP?.startsWith(prefix), `${p.metadata.name} has pod IP ${p.status?.podIP} in ${ready.cidr}`);
      t.same(p.status?.podIPs, [{ ip: p.status?.podIP }]);
      t.equal(p.status?.hostIP, '127.0.0.1');
      t.match(p.metadata.name, /^(echo|coredns)-[a-z0-9]+-[a-z0-9]{5}$/, 'named by the Deployment/ReplicaSet controllers');
    }
    t.not(echoPods[0]!.status?.podIP, echoPods[1]!.status?.podIP, 'every pod has its own IP');
  });

  t.test('the EndpointSlice controller publishes the pod IPs', async (t) => {
    const ips = await poll('an EndpointSlice with both echo pods', 60_000, async () => {
      const list = await api.get<{ items: Array<{ endpoints?: Array<{ addresses: string[]; conditions?: { ready?: boolean }; nodeName?: string }> }> }>(
        `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Decho`,
      );
      const eps = list.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      return eps.length === 2 ? eps : undefined;
    });
    t.same(ips.map((e) => e.addresses[0]).sort(), echoPods.map((p) => p.status!.podIP!).sort());
    t.ok(ips.every((e) => e.nodeName === ready.node));
  });

  t.test('each echo answers on its own pod IP through the veth, with its fieldRef identity', async (t) => {
    for (const p of echoPods) {
      const r = await httpGet(`http://${p.status!.podIP}:3000/through/the/veth?x=1`);
      t.equal(r.status, 200);
      const body = JSON.parse(r.body) as { pod: string; namespace: string; path: string };
      t.equal(body.pod, p.metadata.name, 'POD_NAME from metadata.name');
      t.equal(body.namespace, NS, 'NAMESPACE from metadata.namespace');
      t.equal(body.path, '/through/the/veth?x=1');
    }
  });

  t.test('the Secret volume is materialised: HTTPS on 8443 presents its certificate', async (t) => {
    const cn = await httpsPeerCert(echoPods[0]!.status!.podIP!, 8443, 'backend.example');
    t.equal(cn, 'backend.example');
  });

  t.test('pods/log goes through the API server to the kubelet', async (t) => {
    const p = echoPods[1]!;
    const since = new Date(Date.now() - 5_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await httpGet(`http://${p.status!.podIP}:3000/logged-path`);
    const log = await poll('the echo log line', 30_000, async () => {
      const text = await api.requestText('GET', `/api/v1/namespaces/${NS}/pods/${p.metadata.name}/log?container=echo&sinceTime=${since}`);
      return text.includes('Echoing back request made to /logged-path to client') ? text : undefined;
    });
    t.match(log, /Starting server, listening on/);
    t.match(log, /Echoing back request made to \/logged-path to client \(\d+\.\d+\.\d+\.\d+:\d+\)/);
  });

  t.test('the coredns stand-in answers the whoami zone', async (t) => {
    const reply = await dnsQuery(dnsPod.status!.podIP!, 'foo.bar.com');
    t.equal(reply[3]! & 0x0f, 0, 'NOERROR');
    t.equal(reply.readUInt16BE(10), 2, 'address and port of the client in the additional section');
    const refused = await dnsQuery(dnsPod.status!.podIP!, 'example.org');
    t.equal(refused[3]! & 0x0f, 5, 'other zones are refused, never forwarded');
  });

  t.test('deleting the Deployment stops the processes and finishes graceful deletion', async (t) => {
    const ips = echoPods.map((p) => p.status!.podIP!);
    await api.request('DELETE', `/apis/apps/v1/namespaces/${NS}/deployments/echo`, { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Foreground' });
    await poll('the echo pods to be gone', 90_000, async () => {
      const list = await api.get<{ items: Pod[] }>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Decho`);
      return list.items.length === 0 ? true : undefined;
    });
    for (const ip of ips) {
      const err = await httpGet(`http://${ip}:3000/`).then(() => undefined, (e: unknown) => e);
      t.ok(err, `nothing answers on ${ip} any more`);
    }
  });
}
