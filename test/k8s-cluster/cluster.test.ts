import t from 'tap';
import {
  AppsV1Api,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { clusterBinariesCached, goAvailable, startCluster } from './cluster.js';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const EXPECTED_CRDS = [
  'gatewayclasses',
  'gateways',
  'httproutes',
  'grpcroutes',
  'referencegrants',
  'backendtlspolicies',
  'listenersets',
  'tlsroutes',
  'tcproutes',
  'udproutes',
].map((plural) => `${plural}.${GATEWAY_GROUP}`);

async function poll<T>(what: string, seconds: number, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < seconds * 5; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${seconds}s waiting for ${what}`);
}

if (!goAvailable()) {
  const banner = '#'.repeat(78);
  console.error(
    `${banner}\n# SKIPPING the real-apiserver tests: \`go\` is not installed.\n` +
      `# test/cluster builds kube-apiserver, etcd and kube-controller-manager from Go modules.\n${banner}`,
  );
  t.plan(0, 'go is not installed: cannot build the test cluster');
} else {
  // A cold build of the binaries takes many minutes; give the whole file room for it.
  if (!clusterBinariesCached()) t.setTimeout(45 * 60_000);
  else t.setTimeout(5 * 60_000);

  const cluster = await startCluster();
  t.teardown(() => cluster.stop());

  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const crdApi = kc.makeApiClient(ApiextensionsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const ns = 'cluster-test';

  t.test('the apiserver serves the Gateway API v1.6.1 experimental CRDs', async (t) => {
    const crds = await crdApi.listCustomResourceDefinition();
    const names = crds.items.map((c) => c.metadata?.name);
    for (const name of EXPECTED_CRDS) t.ok(names.includes(name), `${name} installed`);
    for (const crd of crds.items) {
      const established = crd.status?.conditions?.find((c) => c.type === 'Established');
      t.equal(established?.status, 'True', `${crd.metadata?.name} Established`);
      t.equal(
        crd.metadata?.annotations?.['gateway.networking.k8s.io/bundle-version'],
        'v1.6.1',
        `${crd.metadata?.name} bundle-version`,
      );
      t.equal(crd.metadata?.annotations?.['gateway.networking.k8s.io/channel'], 'experimental');
    }
    t.ok(
      names.includes('xbackendtrafficpolicies.gateway.networking.x-k8s.io'),
      'experimental-only x-k8s.io CRDs installed',
    );
  });

  t.test('Namespace and GatewayClass round-trip through the apiserver', async (t) => {
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const got = await core.readNamespace({ name: ns });
    t.equal(got.status?.phase, 'Active');

    await custom.createClusterCustomObject({
      group: GATEWAY_GROUP,
      version: 'v1',
      plural: 'gatewayclasses',
      body: {
        apiVersion: `${GATEWAY_GROUP}/v1`,
        kind: 'GatewayClass',
        metadata: { name: 'sluice-cluster-test' },
        spec: { controllerName: 'sluice.dev/gateway-controller' },
      },
    });
    // client-node returns untyped JSON for custom objects.
    const gc = (await custom.getClusterCustomObject({
      group: GATEWAY_GROUP,
      version: 'v1',
      plural: 'gatewayclasses',
      name: 'sluice-cluster-test',
    })) as { spec?: { controllerName?: string }; status?: { conditions?: { reason?: string }[] } };
    t.equal(gc.spec?.controllerName, 'sluice.dev/gateway-controller');
    // The CRD's defaulting ran: a new class starts out Pending (no controller has seen it).
    t.equal(gc.status?.conditions?.[0]?.reason, 'Pending', 'CRD schema defaults applied');

    // Schema validation is live: the controllerName pattern rejects a bare word.
    await t.rejects(
      custom.createClusterCustomObject({
        group: GATEWAY_GROUP,
        version: 'v1',
        plural: 'gatewayclasses',
        body: {
          apiVersion: `${GATEWAY_GROUP}/v1`,
          kind: 'GatewayClass',
          metadata: { name: 'invalid' },
          spec: { controllerName: 'no-domain' },
        },
      }),
      'an invalid controllerName is refused by the CRD schema',
    );
  });

  t.test('kube-controller-manager turns a Deployment into a ReplicaSet and Pods', async (t) => {
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'echo' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'echo' } },
          template: {
            metadata: { labels: { app: 'echo' } },
            spec: { containers: [{ name: 'echo', image: 'sluice/echo:test' }] },
          },
        },
      },
    });
    const rs = await poll<V1ReplicaSet>('a ReplicaSet owned by the Deployment', 60, async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns });
      return list.items.find((r) => r.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'echo'));
    });
    t.match(rs.metadata?.name, /^echo-[a-z0-9]+$/, 'ReplicaSet is named after the Deployment');
    t.equal(rs.spec?.replicas, 2);

    const pods = await poll('2 Pods from the ReplicaSet', 60, async () => {
      const list = await core.listNamespacedPod({ namespace: ns });
      return list.items.length === 2 ? list.items : undefined;
    });
    for (const pod of pods) {
      t.ok(pod.metadata?.name?.startsWith(`${rs.metadata?.name}-`), `${pod.metadata?.name} named <rs>-<suffix>`);
      // No scheduler or kubelet runs: pods stay unbound and Pending.
      t.equal(pod.spec?.nodeName, undefined);
      t.equal(pod.spec?.serviceAccountName, 'default', 'ServiceAccount admission found "default"');
    }
  });

  t.test('the GatewayClass survives an apiserver restart (state is in etcd)', async (t) => {
    await cluster.restart('kube-apiserver');
    const gc = (await custom.getClusterCustomObject({
      group: GATEWAY_GROUP,
      version: 'v1',
      plural: 'gatewayclasses',
      name: 'sluice-cluster-test',
    })) as { metadata?: { name?: string } };
    t.equal(gc.metadata?.name, 'sluice-cluster-test');
  });

  t.test('deleting the Namespace finalizes it (namespace controller + garbage collector)', async (t) => {
    await core.deleteNamespace({ name: ns });
    const gone = await poll('the Namespace to be gone', 90, async () => {
      try {
        await core.readNamespace({ name: ns });
        return undefined;
      } catch (err) {
        return (err as { code?: number }).code === 404 ? true : undefined;
      }
    });
    t.ok(gone, 'namespace removed after its Deployment, ReplicaSet and Pods were deleted');
  });
}
