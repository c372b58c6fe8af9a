import type { KubeObject } from '../../k8s/client.js';

/** A Secret or ConfigMap some Gateway API object points at. */
export interface ObjectRefKey {
  readonly kind: 'Secret' | 'ConfigMap';
  readonly namespace: string;
  readonly name: string;
}

export function refKeyString(r: ObjectRefKey): string {
  return `${r.kind}/${r.namespace}/${r.name}`;
}

/** Fields holding references to certificates, and the kind they mean when `kind` is omitted. */
const REF_FIELDS: Readonly<Record<string, 'Secret' | 'ConfigMap' | undefined>> = {
  certificateRefs: 'Secret',
  clientCertificateRef: 'Secret',
  caCertificateRefs: undefined,
};

/**
 * Every core Secret/ConfigMap referenced from the specs of Gateways,
 * ListenerSets and BackendTLSPolicies (listener certificates, backend client
 * certificates, CA bundles). The walk is generic over the spec so new places
 * that use the same field names are covered without code changes. Whether a
 * cross-namespace reference is *allowed* is the translator's business; this
 * only decides what to fetch.
 */
export function referencedObjects(objects: Iterable<KubeObject>): ObjectRefKey[] {
  const out = new Map<string, ObjectRefKey>();
  for (const obj of objects) {
    const ns = obj.metadata?.namespace ?? '';
    walk(obj.spec, ns, out);
  }
  return [...out.values()].sort((a, b) => (refKeyString(a) < refKeyString(b) ? -1 : 1));
}

function walk(value: unknown, ownerNs: string, out: Map<string, ObjectRefKey>): void {
  if (Array.isArray(value)) {
    for (const v of value) walk(v, ownerNs, out);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    if (Object.hasOwn(REF_FIELDS, key)) {
      const refs = Array.isArray(child) ? child : [child];
      for (const ref of refs) addRef(ref, REF_FIELDS[key], ownerNs, out);
    } else {
      walk(child, ownerNs, out);
    }
  }
}

function addRef(ref: unknown, defaultKind: 'Secret' | 'ConfigMap' | undefined, ownerNs: string, out: Map<string, ObjectRefKey>): void {
  if (!ref || typeof ref !== 'object') return;
  const r = ref as { group?: unknown; kind?: unknown; name?: unknown; namespace?: unknown };
  if ((r.group ?? '') !== '' || typeof r.name !== 'string' || r.name === '') return;
  const kind = typeof r.kind === 'string' ? r.kind : defaultKind;
  if (kind !== 'Secret' && kind !== 'ConfigMap') return;
  const namespace = typeof r.namespace === 'string' && r.namespace !== '' ? r.namespace : ownerNs;
  if (!namespace) return;
  const key: ObjectRefKey = { kind, namespace, name: r.name };
  out.set(refKeyString(key), key);
}
