// Shared by the tests that talk to the real test apiserver (test/k8s, test/e2e, test/helm).
// Imported, not run: it declares no tests.
import { KubeClient, type KubeObject } from '../../src/k8s/client.js';
import { KubeApiError } from '../../src/k8s/errors.js';
import { CORE_RESOURCES, GATEWAY_KINDS, collectionPath, objectPath, type ResourceSpec } from '../../src/k8s/resources.js';
import { clusterBinariesCached, goAvailable, startCluster, type TestCluster } from '../k8s-cluster/cluster.js';

const EXTRA: Record<string, ResourceSpec> = {
  ServiceAccount: { kind: 'ServiceAccount', group: '', version: 'v1', plural: 'serviceaccounts', namespaced: true },
  ClusterRole: { kind: 'ClusterRole', group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { kind: 'ClusterRoleBinding', group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'clusterrolebindings', namespaced: false },
  Role: { kind: 'Role', group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', namespaced: true },
  RoleBinding: { kind: 'RoleBinding', group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', namespaced: true },
  DaemonSet: { kind: 'DaemonSet', group: 'apps', version: 'v1', plural: 'daemonsets', namespaced: true },
  PodDisruptionBudget: { kind: 'PodDisruptionBudget', group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', namespaced: true },
};

/** REST mapping for the kinds tests create. */
export function resourceFor(obj: KubeObject): ResourceSpec {
  const kind = String(obj.kind);
  const apiVersion = String(obj.apiVersion ?? 'v1');
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const core = (CORE_RESOURCES as Record<string, ResourceSpec>)[kind] ?? EXTRA[kind];
  if (core) return { ...core, version };
  const gw = GATEWAY_KINDS.find((k) => k.kind === kind);
  if (gw) return { kind, group, version, plural: gw.plural, namespaced: gw.namespaced };
  throw new Error(`test helper: no REST mapping for ${apiVersion} ${kind}`);
}

export function pathOf(obj: KubeObject, subresource?: string): string {
  return objectPath(resourceFor(obj), obj.metadata?.namespace, obj.metadata?.name ?? '', subresource);
}

/** Server-side apply (like `kubectl apply --server-side --force-conflicts`). */
export async function apply(client: KubeClient, obj: KubeObject, query: Record<string, string> = {}): Promise<KubeObject> {
  return client.request<KubeObject>('PATCH', pathOf(obj), {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: 'sluice-test', force: 'true', ...query },
  });
}

export async function create(client: KubeClient, obj: KubeObject, query: Record<string, string> = {}): Promise<KubeObject> {
  const r = resourceFor(obj);
  return client.create(collectionPath(r, obj.metadata?.namespace), obj, query);
}

export async function remove(client: KubeClient, obj: KubeObject): Promise<void> {
  try {
    await client.delete(pathOf(obj));
  } catch (err) {
    if (!(err instanceof KubeApiError && err.isNotFound)) throw err;
  }
}

export async function getObject(client: KubeClient, kind: string, apiVersion: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
  return client.getOptional(pathOf({ kind, apiVersion, metadata: { namespace, name } }));
}

/** Poll until `probe` returns a value other than undefined; throws with the last seen state on timeout. */
export async function poll<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, describe?: () => unknown): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const state = describe ? JSON.stringify(await describe(), null, 1) : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${String(lastErr)})` : ''}${state ? `\nlast state: ${state}` : ''}`);
}

export interface ClusterContext {
  readonly cluster: TestCluster;
  readonly client: KubeClient;
}

/** Minimal slice of tap's Test API used here (avoids depending on tap's types). */
interface TapLike {
  setTimeout(ms: number): void;
  teardown(fn: () => unknown): void;
  plan(n: number, why?: string): void;
}

/**
 * Start the real test cluster for a test file, or skip LOUDLY when Go is missing
 * (the only reason these tests may skip). Returns undefined when skipped.
 */
export async function clusterForTest(t: TapLike, what: string, warmTimeoutMs = 5 * 60_000): Promise<ClusterContext | undefined> {
  if (!goAvailable()) {
    const banner = '#'.repeat(78);
    console.error(`${banner}\n# SKIPPING ${what}: \`go\` is not installed.\n# test/cluster builds kube-apiserver, etcd and kube-controller-manager from Go modules.\n${banner}`);
    t.plan(0, 'go is not installed: cannot build the test cluster');
    return undefined;
  }
  // A cold build of the binaries takes many minutes; give the file room for it.
  t.setTimeout(clusterBinariesCached() ? warmTimeoutMs : 45 * 60_000 + warmTimeoutMs);
  const cluster = await startCluster();
  t.teardown(() => cluster.stop());
  return { cluster, client: KubeClient.load(cluster.kubeconfig) };
}

export function namespaceObject(name: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
}
