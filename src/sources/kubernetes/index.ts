/**
 * Kubernetes source: informers over every kind the translator reads, turned
 * into Snapshots (debounced) for the engine.
 *
 * Watched cluster-wide: the Gateway API kinds the API server serves
 * (discovered at start-up and re-checked periodically, so CRDs installed later
 * are picked up), Services, EndpointSlices, Namespaces, and Secrets of type
 * kubernetes.io/tls (field selector `type=kubernetes.io/tls`).
 *
 * Secrets and ConfigMaps: we never watch all of them. TLS Secrets are what
 * listener certificateRefs point at, so those are watched by type. Any other
 * Secret or ConfigMap (CA bundles of BackendTLSPolicy and frontend
 * validation, a mistyped Opaque certificate Secret, a reference to a Secret
 * that does not exist yet) is watched individually, by namespace and
 * `metadata.name` field selector, only while some Gateway, ListenerSet or
 * BackendTLSPolicy references it. Unreferenced ConfigMaps and non-TLS Secrets
 * never enter memory. managedFields and kubectl's last-applied annotation are
 * dropped from every cached object.
 */
import { Counter, type Registry } from 'prom-client';
import type { KubeClient, KubeObject } from '../../k8s/client.js';
import { errorMessage } from '../../k8s/client.js';
import { discoverGatewayResources } from '../../k8s/discovery.js';
import { CORE_RESOURCES, type ResourceSpec } from '../../k8s/resources.js';
import { buildSnapshot } from '../../store/build.js';
import type { Snapshot } from '../../store/snapshot.js';
import type { Logger } from '../../util/log.js';
import { Debouncer } from './debounce.js';
import { ResilientInformer, shrinkObject } from './informer.js';
import { referencedObjects, refKeyString, type ObjectRefKey } from './references.js';

export { ResilientInformer, shrinkObject } from './informer.js';
export { Debouncer } from './debounce.js';
export { referencedObjects } from './references.js';

export interface KubernetesSourceOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  /** Receives every new snapshot. Awaited: snapshots are delivered one at a time. */
  readonly onSnapshot: (snapshot: Snapshot) => void | Promise<void>;
  /** Gateway API resources to watch at start; discovered from the API server when omitted. */
  readonly gatewayResources?: ReadonlyMap<string, ResourceSpec>;
  readonly debounce?: { readonly quietMs: number; readonly maxMs: number };
  /** Re-run discovery this often to pick up CRDs installed or removed later; 0 disables. */
  readonly rediscoverEveryMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly metrics?: Registry;
}

const TLS_SECRET_SELECTOR = 'type=kubernetes.io/tls';
/** How long a rebuild waits for newly referenced Secrets/ConfigMaps before going ahead without them. */
const REF_SYNC_WAIT_MS = 2_000;

export class KubernetesSource {
  readonly #opts: KubernetesSourceOptions;
  readonly #logger: Logger;
  /** Informers by kind (Gateway API kinds, Service, EndpointSlice, Namespace, Secret(tls)). */
  readonly #informers = new Map<string, ResilientInformer>();
  /** Informers for individually referenced Secrets/ConfigMaps, by "Kind/ns/name". */
  readonly #refInformers = new Map<string, ResilientInformer>();
  readonly #debouncer: Debouncer;
  #gatewayResources = new Map<string, ResourceSpec>();
  #started = false;
  #stopped = false;
  #delivering: Promise<void> | undefined;
  #again = false;
  #rediscoverTimer: NodeJS.Timeout | undefined;
  #snapshots = 0;
  readonly #restarts: Counter<'kind'> | undefined;
  readonly #snapshotCounter: Counter | undefined;

  constructor(opts: KubernetesSourceOptions) {
    this.#opts = opts;
    this.#logger = opts.logger;
    const d = opts.debounce ?? { quietMs: 50, maxMs: 250 };
    this.#debouncer = new Debouncer(() => this.#rebuild(), d);
    if (opts.metrics) {
      this.#restarts = new Counter({
        name: 'sluice_k8s_watch_restarts_total',
        help: 'Kubernetes watches restarted after an error, by kind',
        labelNames: ['kind'],
        registers: [opts.metrics],
      });
      this.#snapshotCounter = new Counter({
        name: 'sluice_k8s_snapshots_total',
        help: 'Snapshots built from the Kubernetes caches',
        registers: [opts.metrics],
      });
    }
  }

  /** Gateway API resources being watched, by kind. */
  get gatewayResources(): ReadonlyMap<string, ResourceSpec> {
    return this.#gatewayResources;
  }

  /** True once every informer has listed at least once. */
  get synced(): boolean {
    return this.#started && [...this.#informers.values()].every((i) => i.synced);
  }

  /** Number of snapshots delivered so far. */
  get snapshots(): number {
    return this.#snapshots;
  }

  /**
   * Discover, start every informer, wait until all have listed, and deliver
   * the first snapshot. Later changes are delivered as they come.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#gatewayResources = new Map(this.#opts.gatewayResources ?? (await discoverGatewayResources(this.#opts.client)));
    this.#started = true;
    const kinds = [
      ...this.#gatewayResources.values(),
      CORE_RESOURCES.Service,
      CORE_RESOURCES.EndpointSlice,
      CORE_RESOURCES.Namespace,
      CORE_RESOURCES.Secret,
    ];
    for (const r of kinds) this.#startInformer(r);
    this.#logger.info({ kinds: [...this.#informers.keys()] }, 'watching Kubernetes');
    await Promise.all([...this.#informers.values()].map((i) => i.whenSynced()));
    if (this.#stopped) return;
    this.#debouncer.cancel(); // the first build below covers every event so far
    await this.#deliver();
    const every = this.#opts.rediscoverEveryMs ?? 60_000;
    if (every > 0) this.#scheduleRediscovery(every);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#rediscoverTimer);
    this.#debouncer.close();
    await Promise.all([...this.#informers.values(), ...this.#refInformers.values()].map((i) => i.stop()));
    await this.#delivering;
  }

  /** The cached object, as last seen by the watch. */
  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const inf = this.#informers.get(kind) ?? this.#informerForAlias(kind);
    return inf?.get(name, namespace || undefined);
  }

  /** Every cached object of a kind. */
  list(kind: string): readonly KubeObject[] {
    return (this.#informers.get(kind) ?? this.#informerForAlias(kind))?.list() ?? [];
  }

  /** ListenerSet may be served as the experimental XListenerSet. */
  #informerForAlias(kind: string): ResilientInformer | undefined {
    return kind === 'ListenerSet' ? this.#informers.get('XListenerSet') : undefined;
  }

  #startInformer(resource: ResourceSpec): void {
    const inf = new ResilientInformer({
      client: this.#opts.client,
      resource,
      logger: this.#logger,
      fieldSelector: resource.kind === 'Secret' ? TLS_SECRET_SELECTOR : undefined,
      onChange: () => this.#debouncer.trigger(),
      onRestart: (kind) => this.#restarts?.inc({ kind }),
      transform: shrinkObject,
      backoff: this.#opts.backoff,
    });
    this.#informers.set(resource.kind, inf);
    inf.start();
  }

  #scheduleRediscovery(every: number): void {
    this.#rediscoverTimer = setTimeout(() => {
      void this.#rediscover().finally(() => {
        if (!this.#stopped) this.#scheduleRediscovery(every);
      });
    }, every);
    this.#rediscoverTimer.unref?.();
  }

  async #rediscover(): Promise<void> {
    let found: Map<string, ResourceSpec>;
    try {
      found = await discoverGatewayResources(this.#opts.client);
    } catch (err) {
      this.#logger.debug({ err: errorMessage(err) }, 'rediscovery failed; keeping the current watches');
      return;
    }
    for (const [kind, spec] of found) {
      const cur = this.#gatewayResources.get(kind);
      if (cur && cur.version === spec.version) continue;
      if (cur) await this.#informers.get(kind)?.stop();
      this.#logger.info({ kind, version: spec.version }, cur ? 'served version changed; rewatching' : 'new Gateway API kind served; watching it');
      this.#gatewayResources.set(kind, spec);
      this.#startInformer(spec);
    }
    for (const kind of [...this.#gatewayResources.keys()]) {
      if (found.has(kind)) continue;
      this.#logger.info({ kind }, 'Gateway API kind no longer served; unwatching it');
      this.#gatewayResources.delete(kind);
      await this.#informers.get(kind)?.stop();
      this.#informers.delete(kind);
      this.#debouncer.trigger();
    }
  }

  /** Debounced: build and deliver, one delivery at a time. */
  #rebuild(): void {
    if (this.#stopped) return;
    if (this.#delivering) {
      this.#again = true;
      return;
    }
    void this.#deliver();
  }

  async #deliver(): Promise<void> {
    let done!: () => void;
    this.#delivering = new Promise((r) => (done = r));
    try {
      do {
        this.#again = false;
        await this.#syncReferences();
        if (this.#stopped) return;
        const snapshot = this.#snapshot();
        this.#snapshots++;
        this.#snapshotCounter?.inc();
        try {
          await this.#opts.onSnapshot(snapshot);
        } catch (err) {
          this.#logger.error({ err: errorMessage(err) }, 'snapshot consumer failed');
        }
      } while (this.#again && !this.#stopped);
    } finally {
      this.#delivering = undefined;
      done();
    }
  }

  /** Watch exactly the Secrets/ConfigMaps referenced now and not covered by the TLS Secret watch. */
  async #syncReferences(): Promise<void> {
    const owners = [...this.list('Gateway'), ...this.list('ListenerSet'), ...this.list('BackendTLSPolicy')];
    const tlsSecrets = this.#informers.get('Secret');
    const wanted = new Map<string, ObjectRefKey>();
    for (const ref of referencedObjects(owners)) {
      if (ref.kind === 'Secret' && tlsSecrets?.get(ref.name, ref.namespace)) continue;
      wanted.set(refKeyString(ref), ref);
    }
    for (const [key, inf] of this.#refInformers) {
      if (!wanted.has(key)) {
        this.#refInformers.delete(key);
        void inf.stop();
      }
    }
    const fresh: ResilientInformer[] = [];
    for (const [key, ref] of wanted) {
      if (this.#refInformers.has(key)) continue;
      const inf = new ResilientInformer({
        client: this.#opts.client,
        resource: CORE_RESOURCES[ref.kind],
        namespace: ref.namespace,
        fieldSelector: `metadata.name=${ref.name}`,
        logger: this.#logger,
        onChange: () => this.#debouncer.trigger(),
        onRestart: (kind) => this.#restarts?.inc({ kind }),
        transform: shrinkObject,
        backoff: this.#opts.backoff,
      });
      this.#refInformers.set(key, inf);
      inf.start();
      fresh.push(inf);
    }
    if (fresh.length > 0) {
      // Avoid publishing a transient "certificate not found" for a reference we just started watching.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(fresh.map((i) => i.whenSynced())),
        new Promise<void>((r) => (timer = setTimeout(r, REF_SYNC_WAIT_MS))),
      ]);
      clearTimeout(timer);
    }
  }

  #snapshot(): Snapshot {
    const objects: KubeObject[] = [];
    for (const inf of this.#informers.values()) {
      for (const o of inf.list()) objects.push(o);
    }
    for (const inf of this.#refInformers.values()) {
      for (const o of inf.list()) objects.push(o);
    }
    return buildSnapshot(objects as Parameters<typeof buildSnapshot>[0]);
  }
}
