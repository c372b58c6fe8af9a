// End to end on a real kube-apiserver (no kubelet): the seed article's scenarios applied as
// Kubernetes objects, Sluice's controller running in this process, status read back from the
// API, traffic sent through the Gateways to `sluice echo` backends that live in a network
// namespace created here, an apiserver restart, and leader fail-over between two controllers.
import t from 'tap';
import { existsSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import type { KubeObject } from '../../src/k8s/client.js';
import { startKubernetesGateway, type RunningKubernetesGateway } from '../../src/k8s/controller.js';
import type { DataPlaneDriver } from '../../src/runner/engine.js';
import { createDevCA, tlsSecret } from '../../src/util/devcert.js';
import { createLogger } from '../../src/util/log.js';
import { apply, clusterForTest, getObject, namespaceObject, poll, remove } from '../k8s/helpers.js';
import { createPodNetwork, podNetworkUnavailable, type PodNetwork } from './netns.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SLUICE_BIN = `${ROOT}bin/sluice`;
const GW = 'gateway.networking.k8s.io/v1';
const OURS = 'sluice.dev/gateway-controller';
const logger = createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'error' });

type Cond = { type: string; status: string; reason: string; observedGeneration?: number };
type ParentStatus = { parentRef: { name: string; namespace?: string; sectionName?: string }; controllerName: string; conditions: Cond[] };
type GatewayStatus = { conditions?: Cond[]; addresses?: Array<{ type?: string; value: string }>; listeners?: Array<{ name: string; attachedRoutes: number; conditions: Cond[] }> };
const cond = (conds: Cond[] | undefined, type: string) => conds?.find((c) => c.type === type);

const ctx = await clusterForTest(t, 'the Kubernetes end-to-end tests', 10 * 60_000);
if (ctx) {
  const { client, cluster } = ctx;
  const noNet = podNetworkUnavailable();
  if (noNet) throw new Error(`the end-to-end tests need a network namespace: ${noNet}`);
  if (!existsSync(`${ROOT}dist/cli/main.js`)) spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });

  // ---------------------------------------------------------------- pod network and backends
  const net: PodNetwork = createPodNetwork(4);
  t.teardown(() => net.destroy());
  const pods = {
    echo1a: { ip: net.podIP(2), name: 'echo-1-echo-server-7d9f-aaaa', ns: 'echo' },
    echo1b: { ip: net.podIP(3), name: 'echo-1-echo-server-7d9f-bbbb', ns: 'echo' },
    echo2: { ip: net.podIP(4), name: 'echo-2-echo-server-5c4b-cccc', ns: 'echo' },
    grafana: { ip: net.podIP(5), name: 'grafana-6f8d-dddd', ns: 'observability' },
  };
  const children: ChildProcess[] = [];
  t.teardown(() => { for (const c of children) c.kill('SIGKILL'); });
  const echoLogs = new Map<string, string>();
  for (const p of Object.values(pods)) {
    const child = net.spawn(SLUICE_BIN, ['echo', '--listen', `${p.ip}:3000`, '--name', p.name, '--namespace', p.ns, '--quiet']);
    echoLogs.set(p.name, '');
    child.stderr?.on('data', (d: Buffer) => echoLogs.set(p.name, (echoLogs.get(p.name)! + d.toString()).slice(-2000)));
    child.once('exit', (code) => echoLogs.set(p.name, `${echoLogs.get(p.name)}\n[exited ${code}]`));
    children.push(child);
  }
  const plain = new Agent({ keepAliveTimeout: 10, connections: 16 });
  t.teardown(() => plain.close());
  for (const p of Object.values(pods)) {
    await poll(`echo backend ${p.name}`, 30_000, async () => {
      const r = await request(`http://${p.ip}:3000/`, { dispatcher: plain });
      const body = (await r.body.json()) as { pod: string };
      return body.pod === p.name ? true : undefined;
    }, () => echoLogs.get(p.name));
  }

  // ---------------------------------------------------------------- the seed article, as objects
  const base = 100 + Math.floor(Math.random() * 120);
  const addr = { echo: `127.0.0.${base}`, echoTls: `127.0.0.${base + 1}`, platform: `127.0.0.${base + 2}`, redirect: `127.0.0.${base + 3}` };
  const ca = createDevCA();
  const echoCert = ca.issue(['echo.example.com']);
  const platformCert = ca.issue(['*.example.com']);
  const redirectCert = ca.issue(['redirect.example.com']);

  const selectorlessService = (ns: string, name: string, endpoints: string[]): KubeObject[] => [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port: 80, targetPort: 3000, protocol: 'TCP' }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-manual`, namespace: ns, labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'e2e.sluice.dev' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 3000, protocol: 'TCP' }],
      endpoints: endpoints.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    },
  ];
  const gateway = (ns: string, name: string, address: string, listeners: unknown[], extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: GW, kind: 'Gateway', metadata: { name, namespace: ns },
    spec: { gatewayClassName: 'sluice', addresses: [{ type: 'IPAddress', value: address }], listeners, ...extra },
  });
  const route = (ns: string, name: string, spec: Record<string, unknown>): KubeObject => ({ apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: ns }, spec });
  const backend = (name: string, weight?: number, namespace?: string) => ({ name, port: 80, ...(namespace ? { namespace } : {}), ...(weight !== undefined ? { weight } : {}) });
  const sameNs = { namespaces: { from: 'Same' } };

  const objects: KubeObject[] = [
    namespaceObject('sluice-system'),
    namespaceObject('echo'),
    namespaceObject('infrastructure'),
    namespaceObject('observability'),
    namespaceObject('flux-system'),
    namespaceObject('other'),
    { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'sluice' }, spec: { controllerName: OURS } },
    tlsSecret('echo-tls', 'echo', echoCert) as KubeObject,
    tlsSecret('platform-tls', 'infrastructure', platformCert) as KubeObject,
    tlsSecret('redirect-tls', 'echo', redirectCert) as KubeObject,
    ...selectorlessService('echo', 'echo-1-echo-server', [pods.echo1a.ip, pods.echo1b.ip]),
    ...selectorlessService('echo', 'echo-2-echo-server', [pods.echo2.ip]),
    ...selectorlessService('observability', 'grafana', [pods.grafana.ip]),
    // The echo Gateway of the article, with cloud-LB annotations on its Service (cilium#25357).
    gateway('echo', 'echo', addr.echo, [{ name: 'echo-1-echo-server', protocol: 'HTTP', port: 80, allowedRoutes: sameNs }], {
      infrastructure: { annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'echo.example.com', 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing' } },
    }),
    route('echo', 'echo-1', {
      parentRefs: [{ name: 'echo', namespace: 'echo' }],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/req-header-add' } }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'foo', value: 'bar' }] } }], backendRefs: [backend('echo-1-echo-server')] },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [backend('echo-1-echo-server')] },
      ],
    }),
    route('echo', 'split', {
      parentRefs: [{ name: 'echo' }],
      hostnames: ['split-echo.example.com'],
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [backend('echo-1-echo-server', 95), backend('echo-2-echo-server', 5)] }],
    }),
    // The TLS Gateway.
    gateway('echo', 'echo-tls', addr.echoTls, [{ name: 'https', hostname: 'echo.example.com', port: 443, protocol: 'HTTPS', allowedRoutes: sameNs, tls: { mode: 'Terminate', certificateRefs: [{ name: 'echo-tls' }] } }]),
    route('echo', 'echo-1-tls', { parentRefs: [{ name: 'echo-tls' }], hostnames: ['echo.example.com'], rules: [{ backendRefs: [backend('echo-1-echo-server')] }] }),
    // The shared platform Gateway: routes only from namespaces picked by a Selector.
    gateway('infrastructure', 'platform', addr.platform, [{
      name: 'https', port: 443, protocol: 'HTTPS',
      allowedRoutes: { namespaces: { from: 'Selector', selector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['observability', 'flux-system'] }] } } },
      tls: { mode: 'Terminate', certificateRefs: [{ name: 'platform-tls' }] },
    }]),
    route('observability', 'grafana', { parentRefs: [{ name: 'platform', namespace: 'infrastructure' }], hostnames: ['grafana.example.com'], rules: [{ backendRefs: [backend('grafana')] }] }),
    route('flux-system', 'gitops', { parentRefs: [{ name: 'platform', namespace: 'infrastructure' }], hostnames: ['gitops.example.com'], rules: [{ backendRefs: [backend('echo-2-echo-server', undefined, 'echo')] }] }),
    { apiVersion: GW, kind: 'ReferenceGrant', metadata: { name: 'from-flux', namespace: 'echo' }, spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'flux-system' }], to: [{ group: '', kind: 'Service', name: 'echo-2-echo-server' }] } },
    route('observability', 'no-grant', { parentRefs: [{ name: 'platform', namespace: 'infrastructure' }], hostnames: ['nogrant.example.com'], rules: [{ backendRefs: [backend('echo-1-echo-server', undefined, 'echo')] }] }),
    route('other', 'refused', { parentRefs: [{ name: 'platform', namespace: 'infrastructure' }], hostnames: ['other.example.com'], rules: [{ backendRefs: [backend('grafana', undefined, 'observability')] }] }),
    // The HTTP -> HTTPS redirect pair, pinned to the listeners with sectionName.
    gateway('echo', 'redirect', addr.redirect, [
      { name: 'http', port: 80, protocol: 'HTTP', hostname: 'redirect.example.com', allowedRoutes: sameNs },
      { name: 'https', port: 443, protocol: 'HTTPS', hostname: 'redirect.example.com', allowedRoutes: sameNs, tls: { mode: 'Terminate', certificateRefs: [{ name: 'redirect-tls' }] } },
    ]),
    route('echo', 'redirect-http', { parentRefs: [{ name: 'redirect', sectionName: 'http' }], hostnames: ['redirect.example.com'], rules: [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }] }),
    route('echo', 'redirect-https', { parentRefs: [{ name: 'redirect', sectionName: 'https' }], hostnames: ['redirect.example.com'], rules: [{ backendRefs: [backend('echo-1-echo-server')] }] }),
  ];
  for (const o of objects) await apply(client, o);

  // ---------------------------------------------------------------- the controller, in process
  const controllers: RunningKubernetesGateway[] = [];
  t.teardown(async () => { for (const c of controllers) await c.abort(); });
  const a = await startKubernetesGateway({ kubeconfig: cluster.kubeconfig, admin: '127.0.0.1:0', namespace: 'sluice-system', identity: 'controller-a', logger, drainMs: 100, accessLog: false });
  controllers.push(a);

  const status = async <S>(kind: string, ns: string | undefined, name: string): Promise<S | undefined> => (await getObject(client, kind, kind === 'Namespace' ? 'v1' : GW, ns, name))?.status as S | undefined;
  const ourParent = (s: { parents?: ParentStatus[] } | undefined, gateway: string, section?: string) =>
    s?.parents?.find((p) => p.controllerName === OURS && p.parentRef.name === gateway && (section === undefined || p.parentRef.sectionName === section));
  const routeParent = (ns: string, name: string, gateway: string, section?: string) =>
    poll(`status of HTTPRoute ${ns}/${name}`, 30_000, async () => ourParent(await status<{ parents?: ParentStatus[] }>('HTTPRoute', ns, name), gateway, section));
  const gatewayStatus = (ns: string, name: string) =>
    poll(`Gateway ${ns}/${name} Programmed`, 30_000, async () => {
      const s = await status<GatewayStatus>('Gateway', ns, name);
      return cond(s?.conditions, 'Programmed')?.status === 'True' ? s : undefined;
    }, () => status('Gateway', ns, name));

  t.test('GatewayClass Accepted', async (t) => {
    const s = await poll('GatewayClass Accepted', 30_000, async () => {
      const st = await status<{ conditions?: Cond[]; supportedFeatures?: unknown[] }>('GatewayClass', undefined, 'sluice');
      return cond(st?.conditions, 'Accepted')?.status === 'True' ? st : undefined;
    });
    t.equal(cond(s.conditions, 'Accepted')?.reason, 'Accepted');
    t.ok(Array.isArray(s.supportedFeatures) && s.supportedFeatures.length > 0, 'supportedFeatures listed');
  });

  t.test('Gateways Accepted/Programmed with addresses and attachedRoutes', async (t) => {
    const echo = await gatewayStatus('echo', 'echo');
    t.equal(cond(echo.conditions, 'Accepted')?.status, 'True');
    t.same(echo.addresses, [{ type: 'IPAddress', value: addr.echo }]);
    t.equal(echo.listeners?.[0]?.attachedRoutes, 2, 'echo-1 and split');
    const platform = await gatewayStatus('infrastructure', 'platform');
    t.equal(platform.listeners?.[0]?.attachedRoutes, 3, 'grafana, gitops, no-grant (not the refused one)');
    const redirect = await gatewayStatus('echo', 'redirect');
    t.same(redirect.listeners?.map((l) => [l.name, l.attachedRoutes]), [['http', 1], ['https', 1]]);
    await gatewayStatus('echo', 'echo-tls');
  });

  t.test('route parents: Accepted/ResolvedRefs, refused cross-namespace route, missing ReferenceGrant', async (t) => {
    const ok = await routeParent('echo', 'echo-1', 'echo');
    t.equal(cond(ok.conditions, 'Accepted')?.status, 'True');
    t.equal(cond(ok.conditions, 'ResolvedRefs')?.status, 'True');
    const granted = await routeParent('flux-system', 'gitops', 'platform');
    t.equal(cond(granted.conditions, 'Accepted')?.status, 'True', 'namespace selected by the listener');
    t.equal(cond(granted.conditions, 'ResolvedRefs')?.status, 'True', 'cross-namespace backend allowed by the ReferenceGrant');
    const refused = await routeParent('other', 'refused', 'platform');
    t.equal(cond(refused.conditions, 'Accepted')?.status, 'False');
    t.equal(cond(refused.conditions, 'Accepted')?.reason, 'NotAllowedByListeners');
    const noGrant = await routeParent('observability', 'no-grant', 'platform');
    t.equal(cond(noGrant.conditions, 'Accepted')?.status, 'True');
    t.equal(cond(noGrant.conditions, 'ResolvedRefs')?.status, 'False');
    t.equal(cond(noGrant.conditions, 'ResolvedRefs')?.reason, 'RefNotPermitted');
    const r = await routeParent('echo', 'redirect-http', 'redirect', 'http');
    t.equal(cond(r.conditions, 'Accepted')?.status, 'True');
  });

  t.test('the per-Gateway Service', async (t) => {
    const svc = await poll('Service echo/sluice-echo', 30_000, () => getObject(client, 'Service', 'v1', 'echo', 'sluice-echo'));
    t.equal(svc.metadata?.labels?.['gateway.networking.k8s.io/gateway-name'], 'echo');
    t.equal(svc.metadata?.annotations?.['external-dns.alpha.kubernetes.io/hostname'], 'echo.example.com', 'infrastructure annotations propagated');
    t.equal((svc.spec as { type: string }).type, 'LoadBalancer');
    t.same((svc.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port), [80]);
    t.equal(svc.metadata?.ownerReferences?.[0]?.kind, 'Gateway');
    t.ok(await getObject(client, 'EndpointSlice', 'discovery.k8s.io/v1', 'echo', 'sluice-echo'), 'its EndpointSlice');
    const redirectSvc = await poll('Service echo/sluice-redirect', 30_000, () => getObject(client, 'Service', 'v1', 'echo', 'sluice-redirect'));
    t.same((redirectSvc.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port), [80, 443]);
  });

  // ---------------------------------------------------------------- traffic
  const tlsAgents = new Map<string, Agent>();
  t.teardown(async () => { for (const ag of tlsAgents.values()) await ag.close(); });
  const tlsAgent = (servername: string) => {
    let ag = tlsAgents.get(servername);
    if (!ag) tlsAgents.set(servername, (ag = new Agent({ keepAliveTimeout: 10, connect: { ca: ca.certPem, servername } })));
    return ag;
  };
  interface Echo { pod: string; path: string; headers: Record<string, string[]> }
  const get = async (url: string, host: string, tls = false) => {
    const res = await request(url, { headers: { host }, dispatcher: tls ? tlsAgent(host) : plain });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, echo: () => JSON.parse(text) as Echo };
  };
  const header = (e: Echo, name: string) => Object.entries(e.headers).find(([k]) => k.toLowerCase() === name)?.[1];
  /** The data plane may lag the status by a moment: retry until the expected backend answers. */
  const eventually = <T>(what: string, fn: () => Promise<T | undefined>) => poll(what, 30_000, fn);

  t.test('traffic goes where the routes say', async (t) => {
    const first = await eventually('echo Gateway serving', async () => {
      const r = await get(`http://${addr.echo}/`, 'echo.example.com');
      return r.status === 200 ? r.echo() : undefined;
    });
    t.match(first.pod, /^echo-1-echo-server-/);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await get(`http://${addr.echo}/x`, 'anything.example.com')).echo().pod);
    t.same([...seen].sort(), [pods.echo1a.name, pods.echo1b.name], 'both endpoints of the Service serve');

    const hdr = (await get(`http://${addr.echo}/req-header-add`, 'echo.example.com')).echo();
    t.same(header(hdr, 'foo'), ['bar'], 'RequestHeaderModifier added foo: bar');
    t.notOk(header((await get(`http://${addr.echo}/other`, 'echo.example.com')).echo(), 'foo'), 'only on its path');

    const counts: Record<string, number> = { 'echo-1': 0, 'echo-2': 0 };
    for (let i = 0; i < 200; i++) {
      const pod = (await get(`http://${addr.echo}/`, 'split-echo.example.com')).echo().pod;
      counts[pod.startsWith('echo-2') ? 'echo-2' : 'echo-1']!++;
    }
    t.ok(counts['echo-1']! >= 170 && counts['echo-2']! >= 1 && counts['echo-2']! <= 30, `95/5 split: ${JSON.stringify(counts)}`);

    const tls = await eventually('TLS Gateway serving', async () => {
      const r = await get(`https://${addr.echoTls}/`, 'echo.example.com', true);
      return r.status === 200 ? r.echo() : undefined;
    });
    t.match(tls.pod, /^echo-1-echo-server-/, 'HTTPS terminated with the Secret\'s certificate (verified against the test CA)');

    const grafana = await eventually('platform Gateway serving', async () => {
      const r = await get(`https://${addr.platform}/`, 'grafana.example.com', true);
      return r.status === 200 ? r.echo() : undefined;
    });
    t.equal(grafana.pod, pods.grafana.name);
    t.equal((await get(`https://${addr.platform}/`, 'gitops.example.com', true)).echo().pod, pods.echo2.name, 'cross-namespace backend through the ReferenceGrant');
    t.equal((await get(`https://${addr.platform}/`, 'other.example.com', true)).status, 404, 'refused route is not served');
    t.equal((await get(`https://${addr.platform}/`, 'nogrant.example.com', true)).status, 500, 'backend without ReferenceGrant answers 500');

    const redirect = await eventually('redirect Gateway serving', async () => {
      const r = await get(`http://${addr.redirect}/login?x=1`, 'redirect.example.com');
      return r.status === 301 ? r : undefined;
    });
    t.equal(redirect.headers.location, 'https://redirect.example.com/login?x=1');
    const secure = await get(`https://${addr.redirect}/login?x=1`, 'redirect.example.com', true);
    t.equal(secure.status, 200, 'HTTPS side serves: no redirect loop');
    t.match(secure.echo().pod, /^echo-1-echo-server-/);
  });

  t.test('an apiserver restart leaves the controller converged', async (t) => {
    await cluster.restart('kube-apiserver');
    await apply(client, route('echo', 'echo-1', {
      parentRefs: [{ name: 'echo', namespace: 'echo' }],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/req-header-add' } }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'foo', value: 'after-restart' }] } }], backendRefs: [backend('echo-1-echo-server')] },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [backend('echo-1-echo-server')] },
      ],
    }));
    await apply(client, route('echo', 'late', { parentRefs: [{ name: 'echo' }], hostnames: ['late.example.com'], rules: [{ backendRefs: [backend('echo-2-echo-server')] }] }));
    const late = await routeParent('echo', 'late', 'echo');
    t.equal(cond(late.conditions, 'Accepted')?.status, 'True', 'status of a route created after the restart');
    await eventually('the changed filter in the data plane', async () => {
      const e = (await get(`http://${addr.echo}/req-header-add`, 'echo.example.com')).echo();
      return header(e, 'foo')?.[0] === 'after-restart' ? true : undefined;
    });
    t.equal((await get(`http://${addr.echo}/`, 'late.example.com')).echo().pod, pods.echo2.name, 'new route serves');
    // Status is written asynchronously after the data plane has the route.
    const attached = await eventually('attachedRoutes to reach 3', async () => {
      const n = (await gatewayStatus('echo', 'echo')).listeners?.[0]?.attachedRoutes;
      return n === 3 ? n : undefined;
    }).catch(async () => (await gatewayStatus('echo', 'echo')).listeners?.[0]?.attachedRoutes);
    t.equal(attached, 3, 'attachedRoutes updated');
    // The Service of a deleted Gateway is garbage-collected through its ownerReference.
    await remove(client, { apiVersion: GW, kind: 'Gateway', metadata: { name: 'echo-tls', namespace: 'echo' } });
    await poll('Service echo/sluice-echo-tls to be collected', 60_000, async () => ((await getObject(client, 'Service', 'v1', 'echo', 'sluice-echo-tls')) ? undefined : true));
    t.pass('orphaned Gateway Service collected');
  });

  t.test('sluice run --kubernetes as a process, with --gateway-address-pool', async (t) => {
    // Its own GatewayClass/controllerName and Lease, so it does not compete with controller-a.
    await apply(client, { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'sluice-pool' }, spec: { controllerName: 'sluice.dev/pool-test' } });
    await apply(client, { apiVersion: GW, kind: 'Gateway', metadata: { name: 'pooled', namespace: 'echo' }, spec: { gatewayClassName: 'sluice-pool', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: sameNs }] } });
    await apply(client, route('echo', 'pooled', { parentRefs: [{ name: 'pooled' }], rules: [{ backendRefs: [backend('echo-2-echo-server')] }] }));
    const adminPort = 20000 + Math.floor(Math.random() * 10000);
    const child = spawn(SLUICE_BIN, [
      'run', '--kubernetes', '--kubeconfig', cluster.kubeconfig, '--admin', `127.0.0.1:${adminPort}`, '--namespace', 'sluice-system',
      '--lease-name', 'pool-leader', '--controller-name', 'sluice.dev/pool-test', '--gateway-address-pool', '127.10.0.0/16',
      '--service-type', 'ClusterIP', '--drain-timeout', '1',
    ], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' } });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    await poll('the process to be ready', 60_000, async () => {
      if (child.exitCode !== null) throw new Error(`sluice exited ${child.exitCode}: ${stderr}`);
      const r = await request(`http://127.0.0.1:${adminPort}/readyz`, { dispatcher: plain });
      await r.body.text();
      return r.statusCode === 200 ? true : undefined;
    }, () => stderr);
    const st = await gatewayStatus('echo', 'pooled');
    const address = st.addresses?.[0];
    t.equal(address?.type, 'IPAddress');
    t.match(address?.value, /^127\.10\.\d+\.\d+$/, 'an address from the pool');
    const pooled = await eventually('traffic on the pool address', async () => {
      const r = await get(`http://${address!.value}/`, 'pooled.example.com');
      return r.status === 200 ? r.echo() : undefined;
    });
    t.equal(pooled.pod, pods.echo2.name, 'listener bound on its own pool address');
    const svc = await poll('Service echo/sluice-pooled', 30_000, () => getObject(client, 'Service', 'v1', 'echo', 'sluice-pooled'));
    t.equal((svc.spec as { type: string }).type, 'ClusterIP', '--service-type');
    child.kill('SIGTERM');
    t.equal(await exited, 0, 'SIGTERM: drains and exits 0');
    const lease = await getObject(client, 'Lease', 'coordination.k8s.io/v1', 'sluice-system', 'pool-leader');
    t.notOk((lease?.spec as { holderIdentity?: string | null }).holderIdentity, 'the Lease was released on shutdown');
  });

  t.test('leader election: one writer; kill it and the other takes over within 20 s', async (t) => {
    const stub: DataPlaneDriver = {
      apply: async (table) => ({ listeners: Object.fromEntries(table.ports.flatMap((p) => p.listeners.map((l) => [l.id, { programmed: true }]))) }),
    };
    const b = await startKubernetesGateway({ kubeconfig: cluster.kubeconfig, admin: '127.0.0.1:0', namespace: 'sluice-system', identity: 'controller-b', logger, dataPlane: stub });
    controllers.push(b);
    const holder = async () => ((await getObject(client, 'Lease', 'coordination.k8s.io/v1', 'sluice-system', 'sluice-leader'))?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
    t.equal(await holder(), 'controller-a');
    t.ok(a.elector.isLeader);
    t.notOk(b.elector.isLeader);

    const writesA = a.writer.writes;
    await apply(client, route('echo', 'leader-1', { parentRefs: [{ name: 'echo' }], hostnames: ['l1.example.com'], rules: [{ backendRefs: [backend('echo-1-echo-server')] }] }));
    await routeParent('echo', 'leader-1', 'echo');
    t.ok(a.writer.writes > writesA, 'the leader wrote the new status');
    t.equal(b.writer.writes, 0, 'the follower wrote nothing');
    t.ok(b.engine.state.table, 'the follower translates all the same');

    await a.abort(); // a crash: the Lease is not released
    const killedAt = Date.now();
    await poll('controller-b to lead', 25_000, () => (b.elector.isLeader ? true : undefined));
    const tookMs = Date.now() - killedAt;
    t.ok(tookMs <= 20_000, `took over in ${tookMs} ms`);
    t.equal(await holder(), 'controller-b');
    await apply(client, route('echo', 'leader-2', { parentRefs: [{ name: 'echo' }], hostnames: ['l2.example.com'], rules: [{ backendRefs: [backend('echo-1-echo-server')] }] }));
    const p2 = await routeParent('echo', 'leader-2', 'echo');
    t.equal(cond(p2.conditions, 'Accepted')?.status, 'True');
    t.ok(b.writer.writes > 0, 'the new leader writes status');
  });
}
