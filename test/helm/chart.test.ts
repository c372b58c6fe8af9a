// helm/sluice: lint, render, server-side dry-run of every rendered object against the real test
// apiserver (schema and RBAC admission), and proof that the ClusterRole/Role grant what the
// controller does (and not more) by running the controller's building blocks as the chart's
// ServiceAccount (impersonation).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { KubeClient, type KubeObject } from '../../src/k8s/client.js';
import { discoverGatewayResources } from '../../src/k8s/discovery.js';
import { KubeApiError } from '../../src/k8s/errors.js';
import { LeaderElector } from '../../src/k8s/leader.js';
import { CORE_RESOURCES, collectionPath, objectPath } from '../../src/k8s/resources.js';
import { GatewayServiceReconciler } from '../../src/k8s/service-reconciler.js';
import { StatusWriter } from '../../src/k8s/status-writer.js';
import { ResilientInformer } from '../../src/sources/kubernetes/informer.js';
import { KubernetesSource } from '../../src/sources/kubernetes/index.js';
import type { Gateway } from '../../src/model/objects.js';
import { createLogger } from '../../src/util/log.js';
import { runServe } from '../../src/cli/run.js';
import { PassThrough } from 'node:stream';
import { apply, clusterForTest, namespaceObject, pathOf, poll } from '../k8s/helpers.js';

const CHART = fileURLToPath(new URL('../../helm/sluice', import.meta.url));
const RELEASE_NS = 'sluice-system';
const logger = createLogger({ level: process.env.SLUICE_TEST_LOG ?? 'silent' });

const ctx = await clusterForTest(t, 'the Helm chart tests');
if (ctx) {
  const { cluster, client } = ctx;
  const helm = (...args: string[]) => {
    const r = spawnSync(cluster.helm, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: cluster.dir, HELM_CONFIG_HOME: cluster.dir, HELM_DATA_HOME: cluster.dir } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const render = (...sets: string[]): KubeObject[] => {
    const r = helm('template', 'sluice', CHART, '--namespace', RELEASE_NS, ...sets.flatMap((s) => ['--set', s]));
    if (r.code !== 0) throw new Error(`helm template failed: ${r.err}`);
    return parseAllDocuments(r.out).map((d) => d.toJSON() as KubeObject).filter((o) => o && o.kind);
  };
  const find = (objs: KubeObject[], kind: string) => objs.find((o) => o.kind === kind)!;
  type Container = { args: string[]; securityContext: { capabilities: { add?: string[]; drop: string[] }; readOnlyRootFilesystem: boolean; runAsUser?: number; allowPrivilegeEscalation: boolean }; livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } }; volumeMounts: Array<{ mountPath: string }> };
  type PodSpec = { hostNetwork?: boolean; securityContext: { runAsNonRoot?: boolean; sysctls?: unknown[] }; containers: Container[] };
  const daemonSet = (objs: KubeObject[]) => {
    const ds = find(objs, 'DaemonSet') as KubeObject & { spec: { template: { spec: PodSpec }; updateStrategy: { rollingUpdate: { maxUnavailable: number } } } };
    return { ds, pod: ds.spec.template.spec, c: ds.spec.template.spec.containers[0]! };
  };

  await apply(client, namespaceObject(RELEASE_NS));

  t.test('helm lint, including the values schema', async (t) => {
    const ok = helm('lint', CHART, '--strict');
    t.equal(ok.code, 0, `lint passes:\n${ok.out}${ok.err}`);
    t.equal(helm('lint', CHART, '--strict', '--set', 'ebpf.enabled=true', '--set', 'hostNetwork=true').code, 0, 'eBPF + hostNetwork variant lints');
    const bad = helm('lint', CHART, '--set', 'service.type=Ingress');
    t.not(bad.code, 0, 'schema rejects an unknown service type');
    t.match(bad.out + bad.err, /service\.type|type/);
    t.not(helm('lint', CHART, '--set', 'unknownKey=1').code, 0, 'schema rejects unknown keys');
  });

  t.test('rendered defaults: non-root, read-only, only NET_BIND_SERVICE, probes, rolling update, PDB', async (t) => {
    const objs = render();
    t.same(objs.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'DaemonSet', 'GatewayClass', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'ServiceAccount'].sort());
    const { ds, pod, c } = daemonSet(objs);
    t.equal(ds.spec.updateStrategy.rollingUpdate.maxUnavailable, 1);
    t.equal(pod.securityContext.runAsNonRoot, true);
    t.ok(pod.securityContext.sysctls, 'unprivileged low ports via sysctl when not on the host network');
    t.equal(c.securityContext.readOnlyRootFilesystem, true);
    t.same(c.securityContext.capabilities, { drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
    t.equal(c.securityContext.allowPrivilegeEscalation, false);
    t.equal(c.livenessProbe.httpGet.path, '/healthz');
    t.equal(c.readinessProbe.httpGet.path, '/readyz');
    t.ok(c.args.includes('--ebpf=off'));
    t.ok(c.args.includes('--kubernetes'));
    t.ok(c.args.includes('--service-type=LoadBalancer'));
    t.ok(c.args.includes('--namespace=sluice-system'));
    t.notOk(pod.hostNetwork);
    const gc = find(objs, 'GatewayClass') as KubeObject & { spec: { controllerName: string } };
    t.equal(gc.spec.controllerName, 'sluice.dev/gateway-controller');
    t.notOk(render('gatewayClass.create=false').some((o) => o.kind === 'GatewayClass'), 'GatewayClass optional');
    t.ok(render('metrics.serviceMonitor.enabled=true').some((o) => o.kind === 'ServiceMonitor'), 'ServiceMonitor optional');
  });

  t.test('rendered eBPF + hostNetwork: CAP_BPF/NET_ADMIN, bpffs and cgroup mounts', async (t) => {
    const { pod, c } = daemonSet(render('ebpf.enabled=true', 'hostNetwork=true', 'service.annotations.a=b'));
    t.equal(pod.hostNetwork, true);
    t.same(c.securityContext.capabilities.add?.sort(), ['BPF', 'NET_ADMIN', 'NET_BIND_SERVICE']);
    t.equal(c.securityContext.runAsUser, 0);
    t.same(c.volumeMounts.map((m) => m.mountPath).sort(), ['/sys/fs/bpf', '/sys/fs/cgroup', '/tmp']);
    t.ok(c.args.includes('--ebpf=auto'));
    t.ok(c.args.includes('--host-network'));
    t.ok(c.args.includes('--service-annotation=a=b'));
  });

  t.test('`sluice run` accepts every argument the DaemonSet passes', async (t) => {
    for (const sets of [[], ['ebpf.enabled=true', 'hostNetwork=true', 'service.annotations.a=b', 'service.type=None']]) {
      const { c } = daemonSet(render(...sets));
      t.equal(c.args[0], 'run');
      const out = new PassThrough();
      let help = '';
      out.on('data', (d: Buffer) => { help += d.toString(); });
      // --help after the chart's arguments: parsing (strict, unknown flags throw) happens first.
      t.equal(await runServe([...c.args.slice(1), '--help'], { stdout: out, stderr: new PassThrough() }), 0, `[${sets.join(' ') || 'defaults'}] parsed`);
      t.match(help, /--kubernetes/);
    }
  });

  t.test('helm install --dry-run=server; NOTES tell the user to install the Gateway API CRDs first', async (t) => {
    const r = helm('install', 'sluice', CHART, '--namespace', RELEASE_NS, '--dry-run=server', '--kubeconfig', cluster.kubeconfig);
    t.equal(r.code, 0, r.err);
    t.match(r.out, /NOTES:[\s\S]*Gateway API CRDs/);
  });

  t.test('every rendered object passes a server-side dry-run (schema, admission, RBAC escalation checks)', async (t) => {
    for (const sets of [[], ['ebpf.enabled=true', 'hostNetwork=true', 'service.type=NodePort']]) {
      for (const obj of render(...sets)) {
        try {
          await apply(client, obj, { dryRun: 'All', fieldValidation: 'Strict' });
          t.pass(`${obj.kind}/${obj.metadata?.name} [${sets.join(' ') || 'defaults'}]`);
        } catch (err) {
          t.fail(`${obj.kind}/${obj.metadata?.name} [${sets.join(' ') || 'defaults'}]: ${(err as Error).message}`);
        }
      }
    }
    t.notOk(await client.getOptional(pathOf({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'sluice', namespace: RELEASE_NS } })), 'dry-run persisted nothing');
  });

  t.test('the chart\'s RBAC is enough for everything the controller does, and no more', async (t) => {
    // Install only the RBAC objects for real.
    for (const obj of render()) {
      if (['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'].includes(String(obj.kind))) await apply(client, obj);
    }
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    const user = kc.getCurrentUser()!;
    (user as { impersonateUser?: string }).impersonateUser = `system:serviceaccount:${RELEASE_NS}:sluice`;
    const sa = new KubeClient(kc);
    const forbidden = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
        t.fail(`${what} should be forbidden`);
      } catch (err) {
        t.equal((err as KubeApiError).status, 403, `${what} is forbidden`);
      }
    };

    const resources = await discoverGatewayResources(sa);
    t.ok(resources.has('Gateway'), 'discovery');

    // Everything the source watches.
    const source = new KubernetesSource({ client: sa, logger, onSnapshot: () => undefined });
    t.teardown(() => source.stop());
    const ns = 'rbac-it';
    await apply(client, namespaceObject(ns));
    await apply(client, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca', namespace: ns }, data: { 'ca.crt': 'x' } });
    await apply(client, { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'rbac-it' }, spec: { controllerName: 'sluice.dev/gateway-controller' } });
    const gw = await apply(client, {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: ns },
      spec: { gatewayClassName: 'rbac-it', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], tls: { frontend: { default: { validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }] } } } } },
    }) as unknown as Gateway;
    await source.start();
    t.ok(source.synced, 'lists and watches every kind as the ServiceAccount');
    const pods = new ResilientInformer({ client: sa, resource: CORE_RESOURCES.Pod, namespace: RELEASE_NS, logger, onChange: () => undefined });
    pods.start();
    await pods.whenSynced();
    await pods.stop();
    t.pass('pods in the release namespace');

    // Leader election in the release namespace.
    const elector = new LeaderElector({ client: sa, namespace: RELEASE_NS, name: 'sluice-leader', identity: 'rbac-test', logger, leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 });
    elector.start();
    await poll('the ServiceAccount to acquire the Lease', 10_000, () => (elector.isLeader ? true : undefined));
    await elector.stop();
    await forbidden('a Lease in another namespace', () => sa.create(collectionPath(CORE_RESOURCES.Lease, ns), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x', namespace: ns }, spec: {} }));

    // Status writes.
    const writer = new StatusWriter({ client: sa, logger, controllerName: 'sluice.dev/gateway-controller', resources: () => resources, lookup: () => undefined, list: () => [] });
    writer.setLeader(true);
    writer.publish([
      { kind: 'GatewayClass', apiVersion: 'gateway.networking.k8s.io/v1', namespace: '', name: 'rbac-it', status: { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }] } },
      { kind: 'Gateway', apiVersion: 'gateway.networking.k8s.io/v1', namespace: ns, name: 'gw', status: { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }] } },
    ]);
    await writer.idle();
    t.equal(writer.writes, 2, 'GatewayClass and Gateway status written');
    writer.close();
    await forbidden('changing a Gateway spec', () => sa.mergePatch(objectPath(resources.get('Gateway')!, ns, 'gw'), { spec: { listeners: [{ name: 'http', port: 81, protocol: 'HTTP' }] } }));
    await forbidden('deleting a Gateway', () => sa.delete(objectPath(resources.get('Gateway')!, ns, 'gw')));
    await forbidden('writing a Secret', () => sa.create(collectionPath(CORE_RESOURCES.Secret, ns), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: ns } }));

    // Services, EndpointSlices and Events.
    const reconciler = new GatewayServiceReconciler({
      client: sa, logger,
      config: () => ({ type: 'LoadBalancer', controllerName: 'sluice.dev/gateway-controller', gatewayApiVersion: 'gateway.networking.k8s.io/v1' }),
      getService: (n, name) => source.get('Service', n, name),
      listServices: () => source.list('Service'),
      getEndpointSlice: (n, name) => source.get('EndpointSlice', n, name),
    });
    const table = { version: '1', clusters: {}, ports: [{ address: '', port: 80, protocol: 'HTTP' as const, listeners: [{ id: `${ns}/gw/http`, gateway: { namespace: ns, name: 'gw' }, name: 'http', protocol: 'HTTP' as const, virtualHosts: [], l4Routes: [] }] }] };
    const pod = [{ name: 'p', namespace: RELEASE_NS, uid: 'u', ip: '10.244.1.2', ready: true, terminating: false }];
    await reconciler.reconcile({ gateways: [gw], table, pods: pod });
    const svcPath = objectPath(CORE_RESOURCES.Service, ns, 'sluice-gw');
    t.ok(await client.getOptional(svcPath), 'Service created');
    await poll('the Service and EndpointSlice in the cache', 10_000, () => (source.get('Service', ns, 'sluice-gw') && source.get('EndpointSlice', ns, 'sluice-gw') ? true : undefined));
    const withLabel = { ...gw, spec: { ...gw.spec, infrastructure: { labels: { team: 'x' } } } } as Gateway;
    await reconciler.reconcile({ gateways: [withLabel], table, pods: [{ ...pod[0]!, ready: false }] });
    t.equal((await client.get<KubeObject>(svcPath)).metadata?.labels?.team, 'x', 'Service patched');
    await poll('the patched Service in the cache', 10_000, () => (source.get('Service', ns, 'sluice-gw')?.metadata?.labels?.team === 'x' ? true : undefined));
    await reconciler.reconcile({ gateways: [], table, pods: [] });
    t.notOk(await client.getOptional(svcPath), 'Service deleted');
  });
}
