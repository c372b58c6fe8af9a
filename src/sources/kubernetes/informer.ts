import { ListWatch, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { KubeClient, KubeList, KubeObject } from '../../k8s/client.js';
import { errorMessage } from '../../k8s/client.js';
import { KubeApiError } from '../../k8s/errors.js';
import { apiVersionOf, collectionPath, type ResourceSpec } from '../../k8s/resources.js';
import type { Logger } from '../../util/log.js';

export interface InformerOptions {
  readonly client: KubeClient;
  readonly resource: ResourceSpec;
  readonly logger: Logger;
  /** Watch one namespace only. */
  readonly namespace?: string;
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  /** Called after every add/update/delete and after every (re)list. */
  readonly onChange: () => void;
  /** Called each time the informer is restarted after an error (metrics). */
  readonly onRestart?: (kind: string) => void;
  /** Shrink objects before they are cached (e.g. drop managedFields). */
  readonly transform?: (obj: KubeObject) => KubeObject;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Page size of the initial list. */
  readonly pageSize?: number;
}

/**
 * A client-node ListWatch that never gives up. client-node's informer stops
 * for good on any watch error other than 410 Gone (which it handles by
 * relisting); this wrapper restarts it with exponential backoff and jitter,
 * and tells whether the first list has completed ("synced").
 */
export class ResilientInformer<T extends KubeObject = KubeObject> {
  readonly kind: string;
  readonly #opts: InformerOptions;
  readonly #lw: ListWatch<KubernetesObject>;
  #synced = false;
  #stopped = true;
  #failing = false;
  #delayMs: number;
  #restartTimer: NodeJS.Timeout | undefined;
  readonly #syncedPromise: Promise<void>;
  #resolveSynced!: () => void;

  constructor(opts: InformerOptions) {
    this.#opts = opts;
    this.kind = opts.resource.kind;
    this.#delayMs = opts.backoff?.initialMs ?? 500;
    this.#syncedPromise = new Promise((resolve) => {
      this.#resolveSynced = resolve;
    });
    const path = collectionPath(opts.resource, opts.namespace);
    const watch = new ResilientWatch(opts.client, this.#prepare, () => this.#healthy());
    this.#lw = new ListWatch(path, watch, () => this.#listAll(path) as never, false, opts.labelSelector, opts.fieldSelector);
    this.#lw.on('change', () => opts.onChange());
    this.#lw.on('error', (err: unknown) => this.#onError(err));
  }

  /** Start listing and watching; returns immediately. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    void this.#lw.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#lw.stop();
  }

  /** True once the first list has succeeded; stays true across restarts (the cache keeps serving). */
  get synced(): boolean {
    return this.#synced;
  }

  whenSynced(): Promise<void> {
    return this.#syncedPromise;
  }

  list(): readonly T[] {
    return this.#lw.list() as unknown as readonly T[];
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#lw.get(name, namespace) as unknown as T | undefined;
  }

  readonly #prepare = (obj: KubeObject): KubeObject => {
    const withType: KubeObject = {
      ...obj,
      apiVersion: obj.apiVersion ?? apiVersionOf(this.#opts.resource),
      kind: obj.kind ?? this.#opts.resource.kind,
    };
    return this.#opts.transform ? this.#opts.transform(withType) : withType;
  };

  async #listAll(path: string): Promise<KubeList<KubeObject>> {
    const query = { labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector };
    const limit = this.#opts.pageSize ?? 500;
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let resourceVersion: string | undefined;
    try {
      do {
        const page = await this.#opts.client.list<KubeObject>(path, { ...query, limit, continue: cont });
        for (const item of page.items ?? []) items.push(this.#prepare(item));
        resourceVersion = page.metadata?.resourceVersion;
        cont = page.metadata?.continue || undefined;
      } while (cont);
    } catch (err) {
      // An expired continue token: fall back to one unpaginated list.
      if (!(err instanceof KubeApiError && err.isGone && cont)) throw err;
      const full = await this.#opts.client.list<KubeObject>(path, query);
      items.length = 0;
      for (const item of full.items ?? []) items.push(this.#prepare(item));
      resourceVersion = full.metadata?.resourceVersion;
    }
    this.#healthy();
    // ListWatch copies the items into its cache right after this promise settles (microtasks);
    // report "synced" only once that is done, so a snapshot built then sees them.
    setImmediate(() => {
      if (!this.#synced) {
        this.#synced = true;
        this.#resolveSynced();
      }
      this.#opts.onChange();
    });
    return { items, metadata: { resourceVersion } };
  }

  #healthy(): void {
    this.#delayMs = this.#opts.backoff?.initialMs ?? 500;
    if (this.#failing) {
      this.#failing = false;
      this.#opts.logger.info({ kind: this.kind }, 'watch recovered');
    }
  }

  #onError(err: unknown): void {
    if (this.#stopped) return;
    const max = this.#opts.backoff?.maxMs ?? 30_000;
    const delay = Math.round(this.#delayMs * (0.8 + Math.random() * 0.4));
    const log = { kind: this.kind, retryInMs: delay, err: errorMessage(err) };
    if (this.#failing) this.#opts.logger.debug(log, 'watch still failing');
    else this.#opts.logger.warn(log, 'watch failed; restarting with backoff (the cache keeps serving)');
    this.#failing = true;
    this.#delayMs = Math.min(this.#delayMs * 2, max);
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.#opts.onRestart?.(this.kind);
      void this.#lw.start();
    }, delay);
    this.#restartTimer.unref?.();
  }
}

/**
 * client-node's Watch, with two fixes: objects are prepared (typed and
 * shrunk) before the cache sees them, and an exception thrown before the
 * request is sent (e.g. by an auth plugin) is reported through `done` rather
 * than escaping as an unhandled rejection.
 */
class ResilientWatch extends Watch {
  readonly #prepare: (obj: KubeObject) => KubeObject;
  readonly #onEvent: () => void;

  constructor(client: KubeClient, prepare: (obj: KubeObject) => KubeObject, onEvent: () => void) {
    super(client.kubeConfig);
    this.#prepare = prepare;
    this.#onEvent = onEvent;
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- client-node's own callback signature
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- client-node's own callback signature
    done: (err: any) => void,
  ): Promise<AbortController> {
    const wrapped = (phase: string, obj: KubeObject, raw?: unknown): void => {
      if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED') {
        this.#onEvent();
        callback(phase, this.#prepare(obj), raw);
      } else {
        callback(phase, obj, raw);
      }
    };
    try {
      return await super.watch(path, queryParams, wrapped, done);
    } catch (err) {
      done(err);
      return new AbortController();
    }
  }
}

/**
 * The default transform: drop what we never read and what can be large or
 * sensitive (managedFields; kubectl's last-applied annotation, which for a
 * Secret holds its data in clear).
 */
export function shrinkObject(obj: KubeObject): KubeObject {
  const md = obj.metadata;
  if (!md) return obj;
  const hasLastApplied = md.annotations && 'kubectl.kubernetes.io/last-applied-configuration' in md.annotations;
  if (!md.managedFields && !hasLastApplied) return obj;
  const metadata = { ...md };
  delete metadata.managedFields;
  if (hasLastApplied) {
    const annotations = { ...md.annotations };
    delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
    metadata.annotations = annotations;
  }
  return { ...obj, metadata };
}
