import type { Snapshot } from './snapshot.js';
import { emptySnapshot } from './snapshot.js';

/** A Kubernetes object as parsed from YAML or JSON, before we know its kind. */
export interface RawObject {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

type Bucket = keyof Snapshot;

/** Which snapshot bucket holds a kind, and whether that kind is namespaced. */
const KINDS: Readonly<Record<string, { bucket: Bucket; namespaced: boolean; groups: readonly string[] }>> = {
  GatewayClass: { bucket: 'gatewayClasses', namespaced: false, groups: ['gateway.networking.k8s.io'] },
  Gateway: { bucket: 'gateways', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  ListenerSet: { bucket: 'listenerSets', namespaced: true, groups: ['gateway.networking.k8s.io', 'gateway.networking.x-k8s.io'] },
  XListenerSet: { bucket: 'listenerSets', namespaced: true, groups: ['gateway.networking.x-k8s.io'] },
  HTTPRoute: { bucket: 'httpRoutes', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  GRPCRoute: { bucket: 'grpcRoutes', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  TLSRoute: { bucket: 'tlsRoutes', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  TCPRoute: { bucket: 'tcpRoutes', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  UDPRoute: { bucket: 'udpRoutes', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  ReferenceGrant: { bucket: 'referenceGrants', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  BackendTLSPolicy: { bucket: 'backendTLSPolicies', namespaced: true, groups: ['gateway.networking.k8s.io'] },
  Service: { bucket: 'services', namespaced: true, groups: [''] },
  EndpointSlice: { bucket: 'endpointSlices', namespaced: true, groups: ['discovery.k8s.io'] },
  Secret: { bucket: 'secrets', namespaced: true, groups: [''] },
  ConfigMap: { bucket: 'configMaps', namespaced: true, groups: [''] },
  Namespace: { bucket: 'namespaces', namespaced: false, groups: [''] },
};

export function isKnownKind(kind: string): boolean {
  return Object.hasOwn(KINDS, kind);
}

export function isNamespacedKind(kind: string): boolean {
  return KINDS[kind]?.namespaced ?? true;
}

/** The API group of an apiVersion: "" for core "v1". */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/**
 * Normalise an object the way the API server would have stored it:
 * default namespace, the kubernetes.io/metadata.name label on Namespaces,
 * Secret stringData folded into base64 data. Returns a new object.
 */
export function normalizeObject<T extends RawObject>(obj: T): T {
  const kind = String(obj.kind);
  const metadata = { ...(obj.metadata ?? {}) };
  if (isNamespacedKind(kind)) {
    if (typeof metadata.namespace !== 'string' || metadata.namespace === '') metadata.namespace = 'default';
  } else {
    delete metadata.namespace;
  }
  if (typeof metadata.generation !== 'number') metadata.generation = 1;
  const out: RawObject = { ...obj, metadata };
  if (kind === 'Namespace') {
    metadata.labels = { ...(metadata.labels ?? {}), 'kubernetes.io/metadata.name': String(metadata.name) };
  }
  if (kind === 'Secret' && obj.stringData && typeof obj.stringData === 'object') {
    const data: Record<string, string> = { ...((obj.data as Record<string, string> | undefined) ?? {}) };
    for (const [k, v] of Object.entries(obj.stringData as Record<string, unknown>)) {
      data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    }
    out.data = data;
    delete out.stringData;
  }
  return out as T;
}

/**
 * Build a snapshot from already-validated objects. Unknown kinds are ignored.
 * Later objects with the same kind/namespace/name replace earlier ones.
 * Objects are sorted by namespace/name so the result does not depend on input order.
 */
export function buildSnapshot(objects: readonly RawObject[]): Snapshot {
  const buckets = new Map<Bucket, Map<string, RawObject>>();
  for (const raw of objects) {
    if (!raw || typeof raw.kind !== 'string') continue;
    const spec = KINDS[raw.kind];
    if (!spec) continue;
    const obj = normalizeObject(raw);
    const key = `${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name ?? '')}`;
    let bucket = buckets.get(spec.bucket);
    if (!bucket) buckets.set(spec.bucket, (bucket = new Map()));
    bucket.set(key, obj);
  }
  const snap: Record<string, unknown> = { ...emptySnapshot() };
  for (const [name, bucket] of buckets) {
    snap[name] = [...bucket.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => deepFreeze(o));
  }
  return snap as unknown as Snapshot;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
