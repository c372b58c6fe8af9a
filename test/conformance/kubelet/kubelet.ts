// The fake kubelet: registers one Node, keeps its Lease and Ready condition fresh, binds every
// unscheduled pod to it (there is no scheduler), runs each bound pod in a PodSandbox, writes
// the pod status, finishes graceful deletions, and serves the kubelet API endpoints the API
// server proxies to (GET /containerLogs for `pods/log`, /healthz).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeRequestError } from './errors.ts';
import type { KubeApi, WatchHandle } from './kube-api.ts';
import type { PodNetwork } from './netns.ts';
import type { Pod } from './pod-spec.ts';
import { PodSandbox, type Logf } from './sandbox.ts';

export interface FakeKubeletOptions {
  readonly api: KubeApi;
  readonly network: PodNetwork;
  /** Repository root (the stand-in programs live there). */
  readonly root: string;
  /** Directory for per-pod directories (volumes, logs). */
  readonly stateDir: string;
  /** PEM CA that signs the API server's kubelet client certificate. */
  readonly clientCA: Buffer;
  readonly nodeName?: string;
  /** Address the kubelet API listens on and the Node reports as InternalIP (default 127.0.0.1). */
  readonly address?: string;
  /** Kubernetes version reported in nodeInfo.kubeletVersion. */
  readonly kubeletVersion?: string;
  /** Most time a container gets between SIGTERM and SIGKILL on deletion (default 5 s). */
  readonly maxGraceMs?: number;
  readonly log?: Logf;
}

const LEASE_SECONDS = 40;
const microTime = (): string => new Date().toISOString().replace(/Z$/, '000Z');
const time = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A short-lived self-signed serving certificate (the API server does not verify kubelets here). */
function servingCertificate(address: string): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kubelet-cert-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '7',
      '-subj', '/CN=sluice-fake-kubelet', '-addext', `subjectAltName=IP:${address},DNS:localhost`,
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export class FakeKubelet {
  readonly nodeName: string;
  readonly address: string;
  port = 0;
  readonly #o: FakeKubeletOptions;
  readonly #log: Logf;
  readonly #sandboxes = new Map<string, PodSandbox>(); // by pod uid
  readonly #byName = new Map<string, PodSandbox>(); // "ns/name" -> newest sandbox
  readonly #statusDirty = new Set<PodSandbox>();
  readonly #statusInFlight = new Set<PodSandbox>();
  readonly #binding = new Set<string>();
  readonly #terminating = new Set<string>();
  #server?: Server;
  #watch?: WatchHandle;
  #heartbeat?: NodeJS.Timeout;
  #statusTimer?: NodeJS.Timeout;
  #stopped = false;

  constructor(opts: FakeKubeletOptions) {
    this.#o = opts;
    this.nodeName = opts.nodeName ?? 'sluice-conformance-node';
    this.address = opts.address ?? '127.0.0.1';
    this.#log = opts.log ?? ((msg, fields) => process.stderr.write(`kubelet: ${msg} ${fields ? JSON.stringify(fields) : ''}\n`));
  }

  /** Start serving, register the Node and begin handling pods. */
  async start(): Promise<void> {
    const { key, cert } = servingCertificate(this.address);
    const server = createServer({ key, cert, ca: this.#o.clientCA, requestCert: true, rejectUnauthorized: true }, (req, res) =>
      this.#serve(req, res),
    );
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.address, () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    await this.#registerNode();
    this.#heartbeat = setInterval(() => void this.#renew().catch((err) => this.#log('heartbeat failed', { err: String(err) })), 10_000);
    this.#watch = this.#o.api.listWatch<Pod>('/api/v1/pods', {
      onEvent: (type, pod) => this.#onPod(type, pod),
      onSync: (pods) => this.#onSync(pods),
      onError: (err) => this.#log('pod watch error; relisting', { err: String(err) }),
    });
  }

  /** Sandbox of a pod by namespace/name (tests, log serving). */
  sandbox(namespace: string, name: string): PodSandbox | undefined {
    return this.#byName.get(`${namespace}/${name}`);
  }

  // ---------------------------------------------------------------- node

  #nodeStatus(): Record<string, unknown> {
    const resources = { cpu: '64', memory: '256Gi', pods: '1000', 'ephemeral-storage': '100Gi' };
    const hb = time();
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type, status, reason, message, lastHeartbeatTime: hb, lastTransitionTime: this.#readySince,
    });
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'sluice fake kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: this.address },
        { type: 'Hostname', address: this.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.port } },
      nodeInfo: {
        machineID: 'sluice-fake-node', systemUUID: 'sluice-fake-node', bootID: `sluice-${process.pid}`,
        kernelVersion: '', osImage: 'sluice conformance harness', containerRuntimeVersion: 'sluice-stand-in://1',
        kubeletVersion: this.#o.kubeletVersion ?? 'v0.0.0-sluice-fake', kubeProxyVersion: '',
        operatingSystem: 'linux', architecture: 'amd64',
      },
    };
  }

  readonly #readySince = time();

  async #registerNode(): Promise<void> {
    const api = this.#o.api;
    const path = `/api/v1/nodes/${this.nodeName}`;
    if (!(await api.getOptional(path))) {
      await api.request('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: this.nodeName,
          labels: { 'kubernetes.io/hostname': this.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
        },
      });
    }
    await api.mergePatch(`${path}/status`, { status: this.#nodeStatus() });
    await this.#renew();
  }

  async #renew(): Promise<void> {
    const api = this.#o.api;
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.nodeName}`;
    const spec = { holderIdentity: this.nodeName, leaseDurationSeconds: LEASE_SECONDS, renewTime: microTime() };
    try {
      await api.mergePatch(leasePath, { spec });
    } catch (err) {
      if (!(err instanceof KubeRequestError && err.isNotFound)) throw err;
      const node = await api.get<{ metadata: { uid: string } }>(`/api/v1/nodes/${this.nodeName}`);
      await api.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.nodeName, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid: node.metadata.uid }] },
        spec,
      });
    }
    await api.mergePatch(`/api/v1/nodes/${this.nodeName}/status`, { status: { conditions: (this.#nodeStatus().conditions) } });
  }

  // ---------------------------------------------------------------- pods

  #onPod(type: 'ADDED' | 'MODIFIED' | 'DELETED', pod: Pod): void {
    if (this.#stopped) return;
    const uid = pod.metadata.uid ?? '';
    if (type === 'DELETED') {
      const sb = this.#sandboxes.get(uid);
      if (sb) void this.#remove(sb, 0);
      return;
    }
    if (!pod.spec.nodeName) {
      if (!pod.metadata.deletionTimestamp) void this.#bind(pod);
      return;
    }
    if (pod.spec.nodeName !== this.nodeName) return;
    if (pod.metadata.deletionTimestamp) {
      void this.#terminate(pod);
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    let sb = this.#sandboxes.get(uid);
    if (sb) {
      sb.pod = pod;
      return;
    }
    sb = new PodSandbox(pod, {
      api: this.#o.api,
      network: this.#o.network,
      root: this.#o.root,
      podsDir: this.#o.stateDir,
      nodeName: this.nodeName,
      hostIP: this.address,
      log: this.#log,
      onChange: (s) => this.#markDirty(s),
    });
    this.#sandboxes.set(uid, sb);
    this.#byName.set(`${sb.namespace}/${sb.name}`, sb);
    this.#log('starting pod', { pod: `${sb.namespace}/${sb.name}` });
    sb.start().catch((err) => this.#log('pod start failed', { pod: `${sb!.namespace}/${sb!.name}`, err: String(err) }));
  }

  #onSync(pods: Pod[]): void {
    const live = new Set(pods.map((p) => p.metadata.uid));
    for (const sb of this.#sandboxes.values()) if (!live.has(sb.uid)) void this.#remove(sb, 0);
  }

  async #bind(pod: Pod): Promise<void> {
    const key = pod.metadata.uid ?? '';
    if (this.#binding.has(key)) return;
    this.#binding.add(key);
    const ns = pod.metadata.namespace ?? 'default';
    try {
      await this.#o.api.request('POST', `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}/binding`, {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: pod.metadata.name, namespace: ns, uid: pod.metadata.uid },
        target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName },
      });
    } catch (err) {
      // 409: bound already; 404: deleted meanwhile.
      if (!(err instanceof KubeRequestError && (err.isConflict || err.isNotFound))) this.#log('binding failed', { pod: `${ns}/${pod.metadata.name}`, err: String(err) });
    } finally {
      this.#binding.delete(key);
    }
  }

  /** Graceful deletion: stop the containers, then delete the pod object for good. */
  async #terminate(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    if (this.#terminating.has(uid)) return;
    this.#terminating.add(uid);
    const ns = pod.metadata.namespace ?? 'default';
    const graceMs = Math.min((pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000, this.#o.maxGraceMs ?? 5_000);
    try {
      const sb = this.#sandboxes.get(uid);
      if (sb) await this.#remove(sb, graceMs);
      await this.#o.api.request('DELETE', `/api/v1/namespaces/${ns}/pods/${pod.metadata.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid },
      });
    } catch (err) {
      if (!(err instanceof KubeRequestError && (err.isNotFound || err.isConflict))) {
        this.#log('finishing deletion failed', { pod: `${ns}/${pod.metadata.name}`, err: String(err) });
        this.#terminating.delete(uid); // the next event retries
      }
    }
  }

  async #remove(sb: PodSandbox, graceMs: number): Promise<void> {
    if (this.#sandboxes.get(sb.uid) !== sb) return;
    this.#sandboxes.delete(sb.uid);
    if (this.#byName.get(`${sb.namespace}/${sb.name}`) === sb) this.#byName.delete(`${sb.namespace}/${sb.name}`);
    this.#statusDirty.delete(sb);
    await sb.stop(graceMs);
    sb.removeFiles();
  }

  #markDirty(sb: PodSandbox): void {
    if (this.#stopped || sb.stopping) return;
    this.#statusDirty.add(sb);
    this.#statusTimer ??= setTimeout(() => {
      this.#statusTimer = undefined;
      this.#flushStatuses();
    }, 50);
  }

  #flushStatuses(): void {
    for (const sb of [...this.#statusDirty]) {
      if (this.#statusInFlight.has(sb)) continue; // written again when the current write ends
      this.#statusDirty.delete(sb);
      this.#statusInFlight.add(sb);
      const path = `/api/v1/namespaces/${sb.namespace}/pods/${sb.name}/status`;
      this.#o.api
        .mergePatch(path, { metadata: { uid: sb.uid }, status: sb.status() })
        .catch((err) => {
          // 404: deleted; 409: a different pod of the same name (the uid above does not match).
          if (err instanceof KubeRequestError && (err.isNotFound || err.isConflict)) return;
          this.#log('pod status write failed; retrying', { pod: `${sb.namespace}/${sb.name}`, err: String(err) });
          this.#statusDirty.add(sb);
        })
        .finally(() => {
          this.#statusInFlight.delete(sb);
          if (this.#statusDirty.has(sb)) this.#markDirty(sb);
        });
    }
  }

  // ---------------------------------------------------------------- kubelet API

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.end('ok');
      return;
    }
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      this.#serveLogs(decodeURIComponent(m[1]!), decodeURIComponent(m[2]!), decodeURIComponent(m[3]!), url.searchParams, res);
      return;
    }
    res.statusCode = 404;
    res.end(`${url.pathname}: not provided by the sluice fake kubelet (only /containerLogs and /healthz)\n`);
  }

  #serveLogs(ns: string, podName: string, container: string, q: URLSearchParams, res: ServerResponse): void {
    const log = this.sandbox(ns, podName)?.containerLog(container);
    if (!log) {
      res.statusCode = 404;
      res.end(`container ${container} of pod ${ns}/${podName} is not running on this node\n`);
      return;
    }
    const num = (name: string): number | undefined => (q.has(name) ? Number(q.get(name)) : undefined);
    const sinceTime = q.get('sinceTime');
    const opts = {
      sinceTime: sinceTime ? new Date(sinceTime) : undefined,
      sinceSeconds: num('sinceSeconds'),
      tailLines: num('tailLines'),
      limitBytes: num('limitBytes'),
      timestamps: q.get('timestamps') === 'true',
    };
    res.setHeader('Content-Type', 'text/plain');
    res.write(log.read(opts));
    if (q.get('follow') !== 'true') {
      res.end();
      return;
    }
    // follow: stream what is written from now on, until the client goes away.
    let lastMs = Date.now();
    const onLines = (): void => {
      const since = new Date(lastMs);
      lastMs = Date.now();
      res.write(log.read({ sinceTime: since, timestamps: opts.timestamps }));
    };
    log.on('lines', onLines);
    res.on('close', () => log.off('lines', onLines));
  }

  /** Stop all pods (the pods stay bound in the API) and the API server endpoint. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#watch?.stop();
    clearInterval(this.#heartbeat);
    clearTimeout(this.#statusTimer);
    await Promise.all([...this.#sandboxes.values()].map((sb) => this.#remove(sb, 2_000)));
    await new Promise<void>((resolve) => {
      if (!this.#server) return resolve();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
