// The Kubernetes building blocks against the real test apiserver: discovery, the source's
// informers and Secret/ConfigMap policy, watch recovery across an apiserver restart, the Lease
// elector, the status writer and the Gateway Service reconciler.
import t from 'tap';
import type { KubeObject } from '../../src/k8s/client.js';
import { discoverGatewayResources } from '../../src/k8s/discovery.js';
import { LeaderElector } from '../../src/k8s/leader.js';
import { CORE_RESOURCES, objectPath } from '../../src/k8s/resources.js';
import { GatewayServiceReconciler } from '../../src/k8s/service-reconciler.js';
import { StatusWriter } from '../../src/k8s/status-writer.js';
import type { Gateway } from '../../src/model/objects.js';
import { KubernetesSource } from '../../src/sources/kubernetes/index.js';
import { stampTransitions } from '../../src/runner/status-merge.js';
import { buildSnapshot } from '../../src/store/build.js';
import type { Snapshot } from '../../src/store/snapshot.js';
import { translate } from '../../src/translate/index.js';
import type { RouteTable } from '../../src/translate/ir.js';
import { createLogger } from '../../src/util/log.js';
import { apply, clusterForTest, getObject, namespaceObject, poll, remove } from './helpers.js';

const logger = createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });
const OURS = 'sluice.dev/gateway-controller';
const GW = 'gateway.networking.k8s.io/v1';

const ctx = await clusterForTest(t, 'the apiserver tests of src/k8s and src/sources/kubernetes');
if (ctx) {
  const { client, cluster } = ctx;
  const ns = 'k8s-it';
  await apply(client, namespaceObject(ns));
  await apply(client, namespaceObject('k8s-it-lease'));

  const resources = await discoverGatewayResources(client);

  t.test('discovery finds the served Gateway API versions', async (t) => {
    t.equal(resources.get('Gateway')?.version, 'v1');
    t.equal(resources.get('HTTPRoute')?.version, 'v1');
    t.equal(resources.get('ReferenceGrant')?.version, 'v1');
    t.ok(resources.get('TCPRoute'), 'experimental channel: TCPRoute served');
    t.ok(resources.get('ListenerSet'));
    t.notOk(resources.has('XListenerSet'), 'ListenerSet served, no fallback');
  });

  t.test('source: snapshots, TLS Secrets by type, other Secrets/ConfigMaps only when referenced, restart recovery', async (t) => {
    const snapshots: Snapshot[] = [];
    const source = new KubernetesSource({ client, logger, onSnapshot: (s) => void snapshots.push(s), backoff: { initialMs: 200, maxMs: 2000 } });
    t.teardown(() => source.stop());
    const secret = (name: string, type: string): KubeObject => ({
      apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type,
      ...(type === 'kubernetes.io/tls' ? { data: { 'tls.crt': '', 'tls.key': '' } } : { stringData: { 'tls.crt': 'x', 'tls.key': 'y' } }),
    });
    await apply(client, secret('tls-one', 'kubernetes.io/tls'));
    await apply(client, secret('opaque-unreferenced', 'Opaque'));
    await apply(client, secret('opaque-referenced', 'Opaque'));
    await apply(client, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca-bundle', namespace: ns }, data: { 'ca.crt': 'pem' } });
    await apply(client, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: ns }, data: { a: 'b' } });
    await apply(client, { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'k8s-it' }, spec: { controllerName: OURS } });
    await apply(client, {
      apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: ns },
      spec: {
        gatewayClassName: 'k8s-it',
        listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { mode: 'Terminate', certificateRefs: [{ name: 'opaque-referenced' }] } }],
      },
    });
    await apply(client, {
      apiVersion: GW, kind: 'BackendTLSPolicy', metadata: { name: 'btp', namespace: ns },
      spec: {
        targetRefs: [{ group: '', kind: 'Service', name: 'svc' }],
        validation: { hostname: 'svc.example.com', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca-bundle' }] },
      },
    });

    await source.start();
    t.ok(source.synced, 'synced after start');
    const has = (s: Snapshot, bucket: 'secrets' | 'configMaps', name: string) => s[bucket].some((o) => o.metadata?.namespace === ns && o.metadata?.name === name);
    const latest = () => snapshots[snapshots.length - 1]!;
    await poll('the referenced Secret and ConfigMap in a snapshot', 10_000, () => (has(latest(), 'secrets', 'opaque-referenced') && has(latest(), 'configMaps', 'ca-bundle') ? true : undefined));
    const s = latest();
    t.ok(s.gateways.some((g) => g.metadata?.name === 'gw'), 'Gateway');
    t.ok(s.backendTLSPolicies.some((p) => p.metadata?.name === 'btp'), 'BackendTLSPolicy');
    t.ok(has(s, 'secrets', 'tls-one'), 'TLS Secret watched by type');
    t.notOk(has(s, 'secrets', 'opaque-unreferenced'), 'unreferenced Opaque Secret never loaded');
    t.notOk(has(s, 'configMaps', 'unrelated'), 'unreferenced ConfigMap never loaded');
    t.ok(s.namespaces.some((n) => n.metadata?.name === ns), 'Namespaces');
    t.notOk(JSON.stringify(s).includes('managedFields'), 'managedFields dropped');

    // Dropping the reference drops the per-object watch.
    await apply(client, {
      apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: ns },
      spec: { gatewayClassName: 'k8s-it', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    });
    await poll('the Opaque Secret to leave the snapshot', 10_000, () => (has(latest(), 'secrets', 'opaque-referenced') ? undefined : true));

    // Watches survive an apiserver restart: events after it still arrive.
    await cluster.restart('kube-apiserver');
    await apply(client, { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'after-restart', namespace: ns }, spec: { parentRefs: [{ name: 'gw' }] } });
    await poll('a route created after the apiserver restart', 60_000, () => (latest().httpRoutes.some((r) => r.metadata?.name === 'after-restart') ? true : undefined));
    await remove(client, { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'after-restart', namespace: ns } });
    await poll('its deletion', 30_000, () => (latest().httpRoutes.some((r) => r.metadata?.name === 'after-restart') ? undefined : true));
    t.pass('watch recovered after the restart');
  });

  t.test('rediscovery: a Gateway API CRD removed and installed again is unwatched and watched again', async (t) => {
    const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/udproutes.gateway.networking.k8s.io';
    const crd = await client.get<KubeObject>(crdPath);
    const snapshots: Snapshot[] = [];
    const source = new KubernetesSource({ client, logger, onSnapshot: (s) => void snapshots.push(s), rediscoverEveryMs: 300, backoff: { initialMs: 200, maxMs: 1000 } });
    t.teardown(() => source.stop());
    await source.start();
    t.ok(source.gatewayResources.has('UDPRoute'));
    await client.delete(crdPath);
    await poll('UDPRoute to be unwatched', 60_000, () => (source.gatewayResources.has('UDPRoute') ? undefined : true));
    const { metadata, status: _status, ...rest } = crd as KubeObject & { status?: unknown };
    await client.create('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { ...rest, metadata: { name: metadata?.name, annotations: metadata?.annotations, labels: metadata?.labels } });
    await poll('UDPRoute to be watched again', 60_000, () => (source.gatewayResources.has('UDPRoute') ? true : undefined));
    await poll('a UDPRoute created now to reach a snapshot', 60_000, async () => {
      try {
        await apply(client, { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'UDPRoute', metadata: { name: 'udp', namespace: ns }, spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'dns', port: 53 }] }] } });
      } catch {
        return undefined; // the CRD may not be established yet
      }
      return snapshots[snapshots.length - 1]?.udpRoutes.some((r) => r.metadata?.name === 'udp') ? true : undefined;
    });
    t.pass('new kind picked up without a restart');
  });

  t.test('leader election: one leader, release hands over, a crashed leader expires', async (t) => {
    const timing = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };
    const mk = (identity: string) => new LeaderElector({ client, namespace: 'k8s-it-lease', name: 'lease-test', identity, logger, ...timing });
    const a = mk('a');
    const b = mk('b');
    a.start();
    await poll('a to lead', 10_000, () => (a.isLeader ? true : undefined));
    b.start();
    await new Promise((r) => setTimeout(r, 1500));
    t.notOk(b.isLeader, 'b follows while a renews');
    const lease = await getObject(client, 'Lease', 'coordination.k8s.io/v1', 'k8s-it-lease', 'lease-test');
    t.equal((lease?.spec as { holderIdentity?: string }).holderIdentity, 'a');

    await a.stop(); // graceful: releases
    await poll('b to take over after a released', 5_000, () => (b.isLeader ? true : undefined));
    const c = mk('c');
    c.start();
    await b.stop(false); // crash: the lease stays until it expires
    t.notOk(c.isLeader, 'not before the lease expires');
    await poll('c to take over after b crashed', 10_000, () => (c.isLeader ? true : undefined));
    const after = await getObject(client, 'Lease', 'coordination.k8s.io/v1', 'k8s-it-lease', 'lease-test');
    t.equal((after?.spec as { holderIdentity?: string }).holderIdentity, 'c');
    t.ok(((after?.spec as { leaseTransitions?: number }).leaseTransitions ?? 0) >= 2, 'transitions counted');
    await c.stop();
  });

  t.test('status writer: only while leading, keeps other controllers\' parents, retries conflicts, skips no-ops', async (t) => {
    const route: KubeObject = { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'shared', namespace: ns }, spec: { parentRefs: [{ name: 'gw' }, { name: 'theirs' }] } };
    await apply(client, route);
    const routePath = objectPath(resources.get('HTTPRoute')!, ns, 'shared');
    // Another controller writes its entry first.
    const live = await client.get<KubeObject>(routePath);
    const theirs = { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'theirs' }, controllerName: 'example.com/other', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: 1 }] };
    await client.replace(`${routePath}/status`, { ...live, status: { parents: [theirs] } });

    // The writer reads from a cache that is deliberately stale (the object before the other write): its first PUT conflicts.
    const writer = new StatusWriter({ client, logger, controllerName: OURS, resources: () => resources, lookup: () => live, list: () => [], fieldManager: 'sluice-test' });
    const status = { kind: 'HTTPRoute', apiVersion: GW, namespace: ns, name: 'shared', status: { parents: [{ parentRef: { name: 'gw' }, controllerName: OURS, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2026-02-02T00:00:00Z' }] }] } };
    writer.publish([status]);
    await writer.idle();
    t.equal(writer.writes, 0, 'a follower writes nothing');
    writer.setLeader(true);
    await writer.idle();
    t.equal(writer.writes, 1, 'written once, after a conflict retry');
    const got = await client.get<KubeObject>(routePath);
    const parents = (got.status as { parents: Array<{ controllerName: string }> }).parents;
    t.same(parents.map((p) => p.controllerName).sort(), ['example.com/other', OURS].sort(), 'both controllers\' entries present');

    writer.publish([status]);
    await writer.idle();
    t.equal(writer.writes, 1, 'unchanged status: no write');

    // Nothing of ours to say any more: our entry goes, theirs stays.
    const w2 = new StatusWriter({ client, logger, controllerName: OURS, resources: () => resources, lookup: () => undefined, list: (k) => (k === 'HTTPRoute' ? [got] : []) });
    w2.setLeader(true);
    w2.publish([]);
    await w2.idle();
    const final = await client.get<KubeObject>(routePath);
    t.same((final.status as { parents: Array<{ controllerName: string }> }).parents.map((p) => p.controllerName), ['example.com/other']);
    writer.close();
    w2.close();
  });

  t.test('status writer: ListenerSet status and Gateway attachedListenerSets as translate() computes them pass CRD validation', async (t) => {
    const objects: KubeObject[] = [
      { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'ls-class' }, spec: { controllerName: OURS } },
      {
        apiVersion: GW, kind: 'Gateway', metadata: { name: 'ls-gw', namespace: ns },
        spec: { gatewayClassName: 'ls-class', allowedListeners: { namespaces: { from: 'Same' } }, listeners: [{ name: 'http', protocol: 'HTTP', port: 80, hostname: 'gw.example.com' }] },
      },
      {
        apiVersion: GW, kind: 'ListenerSet', metadata: { name: 'ls-team', namespace: ns },
        spec: { parentRef: { name: 'ls-gw' }, listeners: [{ name: 'web', protocol: 'HTTP', port: 80, hostname: 'team.example.com' }, { name: 'clash', protocol: 'HTTP', port: 80, hostname: 'gw.example.com' }] },
      },
    ];
    for (const o of objects) await apply(client, o);
    const live = new Map<string, KubeObject>();
    for (const o of objects) {
      const got = await getObject(client, String(o.kind), String(o.apiVersion), o.metadata?.namespace, String(o.metadata?.name));
      if (got) live.set(`${String(o.kind)}/${got.metadata?.namespace ?? ''}/${got.metadata?.name ?? ''}`, got);
    }
    const result = translate(buildSnapshot([...live.values()] as Parameters<typeof buildSnapshot>[0]), { controllerName: OURS });
    // As the engine publishes them: with lastTransitionTime (the CRDs require it).
    const statuses = stampTransitions(result.statuses.filter((st) => st.kind === 'Gateway' || st.kind === 'ListenerSet'), [], '2026-03-03T00:00:00Z');
    t.equal(statuses.length, 2);
    const writer = new StatusWriter({
      client, logger, controllerName: OURS, resources: () => resources,
      lookup: (kind, namespace, name) => live.get(`${kind}/${namespace}/${name}`), list: () => [], fieldManager: 'sluice-test',
    });
    writer.setLeader(true);
    writer.publish(statuses);
    await writer.idle();
    t.equal(writer.writes, 2, 'both statuses were accepted by the apiserver');

    type Cond = { type: string; status: string; reason: string; lastTransitionTime?: string };
    const set = await getObject(client, 'ListenerSet', GW, ns, 'ls-team');
    const setStatus = set?.status as { conditions: Cond[]; listeners: Array<{ name: string; conditions: Cond[] }> };
    t.match(setStatus.conditions.find((c) => c.type === 'Accepted'), { status: 'True', reason: 'ListenersNotValid' }, 'one valid listener keeps it Accepted');
    t.ok(setStatus.conditions.every((c) => typeof c.lastTransitionTime === 'string'), 'conditions carry lastTransitionTime');
    t.same(setStatus.listeners.map((l) => l.name), ['web', 'clash']);
    t.match(setStatus.listeners[1]?.conditions.find((c) => c.type === 'Conflicted'), { status: 'True', reason: 'HostnameConflict' });
    const gw = await getObject(client, 'Gateway', GW, ns, 'ls-gw');
    t.equal((gw?.status as { attachedListenerSets?: number }).attachedListenerSets, 1);
    writer.close();
  });

  t.test('Gateway Service reconciler: create, propagate infrastructure, update, delete when no longer ours, GC', async (t) => {
    const gw = await apply(client, {
      apiVersion: GW, kind: 'Gateway', metadata: { name: 'svc-gw', namespace: ns },
      spec: { gatewayClassName: 'k8s-it', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], infrastructure: { labels: { team: 'a' }, annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'echo.example.com' } } },
    }) as unknown as Gateway;
    const table = (port: number): RouteTable => ({ version: String(port), clusters: {}, ports: [{ address: '', port, protocol: 'HTTP', listeners: [{ id: `${ns}/svc-gw/http`, gateway: { namespace: ns, name: 'svc-gw' }, name: 'http', protocol: 'HTTP', virtualHosts: [], l4Routes: [] }] }] });
    const svcPath = objectPath(CORE_RESOURCES.Service, ns, 'sluice-svc-gw');
    const slicePath = objectPath(CORE_RESOURCES.EndpointSlice, ns, 'sluice-svc-gw');
    // A hand-fed cache: refreshed from the API server before each reconcile.
    let cachedSvc: KubeObject | undefined;
    let cachedSlice: KubeObject | undefined;
    const refresh = async () => {
      cachedSvc = await client.getOptional(svcPath);
      cachedSlice = await client.getOptional(slicePath);
    };
    const rec = new GatewayServiceReconciler({
      client, logger,
      config: () => ({ type: 'LoadBalancer', controllerName: OURS, gatewayApiVersion: GW, annotations: { 'chart/default': 'x' } }),
      getService: () => cachedSvc,
      listServices: () => [],
      getEndpointSlice: () => cachedSlice,
    });
    const pods = [{ name: 'sluice-abc', namespace: 'k8s-it-lease', uid: 'u1', ip: '10.244.0.7', nodeName: 'n1', ready: true, terminating: false }];
    await rec.reconcile({ gateways: [gw], table: table(80), pods });
    const svc = await client.get<KubeObject>(svcPath);
    t.equal(svc.metadata?.labels?.['gateway.networking.k8s.io/gateway-name'], 'svc-gw');
    t.equal(svc.metadata?.labels?.team, 'a', 'infrastructure label propagated');
    t.equal(svc.metadata?.annotations?.['external-dns.alpha.kubernetes.io/hostname'], 'echo.example.com', 'infrastructure annotation propagated (cilium#25357)');
    t.equal((svc.spec as { type: string }).type, 'LoadBalancer');
    t.same((svc.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port), [80]);
    t.equal(svc.metadata?.ownerReferences?.[0]?.uid, gw.metadata?.uid, 'owned by the Gateway');
    const slice = await client.get<KubeObject>(slicePath);
    t.same((slice.endpoints as Array<{ addresses: string[] }>).map((e) => e.addresses[0]), ['10.244.0.7'], 'EndpointSlice lists the gateway pods');

    // Update: new port, label removed; the nodePort of the kept port survives.
    const nodePort80 = (svc.spec as { ports: Array<{ nodePort: number }> }).ports[0]!.nodePort;
    const gw2 = await apply(client, {
      apiVersion: GW, kind: 'Gateway', metadata: { name: 'svc-gw', namespace: ns },
      spec: { gatewayClassName: 'k8s-it', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], infrastructure: { annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'echo.example.com' } } },
    }) as unknown as Gateway;
    const two = table(80);
    const withTls: RouteTable = { ...two, ports: [...two.ports, { ...two.ports[0]!, port: 443, protocol: 'HTTPS' }] };
    await refresh();
    await rec.reconcile({ gateways: [gw2], table: withTls, pods: [] });
    t.same(((await client.get<KubeObject>(slicePath)).endpoints as unknown[] | undefined) ?? [], [], 'EndpointSlice updated: no pods');
    const svc2 = await client.get<KubeObject>(svcPath);
    t.notOk(svc2.metadata?.labels?.team, 'label removed with the infrastructure entry');
    const ports = (svc2.spec as { ports: Array<{ port: number; nodePort: number }> }).ports;
    t.same(ports.map((p) => p.port), [80, 443]);
    t.equal(ports[0]!.nodePort, nodePort80, 'allocated nodePort kept');

    // The Gateway moves to another class: its Service is deleted.
    await rec.reconcile({ gateways: [], table: withTls, pods: [] }); // listServices() is empty: nothing known, nothing deleted
    t.ok(await client.getOptional(svcPath), 'not deleted without seeing it');
    const recWithCache = new GatewayServiceReconciler({
      client, logger,
      config: () => ({ type: 'LoadBalancer', controllerName: OURS, gatewayApiVersion: GW }),
      getService: () => undefined, listServices: () => [svc2], getEndpointSlice: () => undefined,
    });
    await recWithCache.reconcile({ gateways: [], table: withTls, pods: [] });
    t.notOk(await client.getOptional(svcPath), 'Service of a Gateway that is no longer ours deleted');

    // Garbage collection: a Service owned by a deleted Gateway goes with it (kube-controller-manager).
    await refresh();
    await rec.reconcile({ gateways: [gw2], table: withTls, pods: [] });
    t.ok(await client.getOptional(svcPath));
    await remove(client, { apiVersion: GW, kind: 'Gateway', metadata: { name: 'svc-gw', namespace: ns } });
    await poll('the garbage collector to delete the orphaned Service', 60_000, async () => ((await client.getOptional(svcPath)) ? undefined : true));
    t.pass('orphaned Service collected');
  });

  t.test('events are recorded on Gateway Service creation', async (t) => {
    const list = await client.list<KubeObject>(`/api/v1/namespaces/${ns}/events`);
    t.ok(list.items.some((e) => e.reason === 'ServiceCreated' && (e.involvedObject as { name?: string }).name === 'svc-gw'));
  });

}
