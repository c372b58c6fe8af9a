import type { ConfigMap, EndpointSlice, Namespace, ReferenceGrant, Secret, Service } from '../model/objects.js';
import type { Snapshot } from '../store/snapshot.js';
import { BackendTLSPolicies } from './backendtls.js';
import type { ClusterIR } from './ir.js';
import type { Diagnostic, TranslateOptions } from './status.js';

/** Indexes over a snapshot plus the sinks every translator stage writes to. Built once per translate() call. */
export class TranslateContext {
  readonly diagnostics: Diagnostic[] = [];
  /** Upstream clusters referenced by the table, by id. */
  readonly clusters = new Map<string, ClusterIR>();
  readonly #services = new Map<string, Service>();
  readonly #secrets = new Map<string, Secret>();
  readonly #configMaps = new Map<string, ConfigMap>();
  readonly #namespaces = new Map<string, Namespace>();
  readonly #slicesByService = new Map<string, EndpointSlice[]>();
  readonly #grantsByNamespace = new Map<string, ReferenceGrant[]>();
  /** BackendTLSPolicies, validated and with conflicts settled. */
  readonly backendTLS: BackendTLSPolicies;

  constructor(readonly snapshot: Snapshot, readonly options: TranslateOptions) {
    for (const s of snapshot.services) this.#services.set(key(s.metadata?.namespace, s.metadata?.name), s);
    for (const s of snapshot.secrets) this.#secrets.set(key(s.metadata?.namespace, s.metadata?.name), s);
    for (const c of snapshot.configMaps) this.#configMaps.set(key(c.metadata?.namespace, c.metadata?.name), c);
    for (const n of snapshot.namespaces) if (n.metadata?.name) this.#namespaces.set(n.metadata.name, n);
    for (const es of snapshot.endpointSlices) {
      const svc = es.metadata?.labels?.['kubernetes.io/service-name'];
      if (svc === undefined) continue;
      const k = key(es.metadata?.namespace, svc);
      const list = this.#slicesByService.get(k);
      if (list) list.push(es);
      else this.#slicesByService.set(k, [es]);
    }
    for (const g of snapshot.referenceGrants) {
      const ns = g.metadata?.namespace ?? 'default';
      const list = this.#grantsByNamespace.get(ns);
      if (list) list.push(g);
      else this.#grantsByNamespace.set(ns, [g]);
    }
    // Last: policies resolve their CA references through the indexes above.
    this.backendTLS = new BackendTLSPolicies(snapshot, this);
  }

  service(namespace: string, name: string): Service | undefined {
    return this.#services.get(key(namespace, name));
  }

  secret(namespace: string, name: string): Secret | undefined {
    return this.#secrets.get(key(namespace, name));
  }

  configMap(namespace: string, name: string): ConfigMap | undefined {
    return this.#configMaps.get(key(namespace, name));
  }

  /** EndpointSlices labelled kubernetes.io/service-name=<name> in the Service's namespace, in snapshot order. */
  endpointSlices(namespace: string, service: string): readonly EndpointSlice[] {
    return this.#slicesByService.get(key(namespace, service)) ?? [];
  }

  /** Labels of a namespace; one that is not in the snapshot still has the label the API server adds. */
  namespaceLabels(name: string): Readonly<Record<string, string>> {
    const ns = this.#namespaces.get(name);
    return ns?.metadata?.labels ?? { 'kubernetes.io/metadata.name': name };
  }

  /**
   * Whether a ReferenceGrant in the target namespace lets `from` refer to the target.
   * Same-namespace references never need one.
   */
  referenceAllowed(
    from: { readonly group: string; readonly kind: string; readonly namespace: string },
    to: { readonly group: string; readonly kind: string; readonly namespace: string; readonly name: string },
  ): boolean {
    if (from.namespace === to.namespace) return true;
    for (const g of this.#grantsByNamespace.get(to.namespace) ?? []) {
      const fromOk = (g.spec?.from ?? []).some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace);
      if (!fromOk) continue;
      const toOk = (g.spec?.to ?? []).some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === '' || t.name === to.name));
      if (toOk) return true;
    }
    return false;
  }

  warn(d: Omit<Diagnostic, 'severity'>): void {
    this.diagnostics.push({ severity: 'warning', ...d });
  }

  error(d: Omit<Diagnostic, 'severity'>): void {
    this.diagnostics.push({ severity: 'error', ...d });
  }
}

function key(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

/** Metadata accessors with the defaults buildSnapshot guarantees, for objects typed with optional metadata. */
export function metaOf(obj: { metadata?: { namespace?: string; name?: string; generation?: number; creationTimestamp?: unknown } }): {
  namespace: string;
  name: string;
  generation: number | undefined;
  /** creationTimestamp in ms since the epoch; undefined when absent or unparseable. */
  created: number | undefined;
} {
  const m = obj.metadata ?? {};
  const ts: unknown = m.creationTimestamp;
  const ms = ts instanceof Date ? ts.getTime() : typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
  return {
    namespace: m.namespace ?? 'default',
    name: m.name ?? '',
    generation: typeof m.generation === 'number' ? m.generation : undefined,
    created: Number.isFinite(ms) ? ms : undefined,
  };
}
