import { Counter, type Registry } from 'prom-client';
import type { ObjectStatus } from '../translate/status.js';
import type { Logger } from '../util/log.js';
import type { KubeClient, KubeObject } from './client.js';
import { errorMessage } from './client.js';
import { KubeApiError } from './errors.js';
import { objectPath, resourceForKind, type ResourceSpec } from './resources.js';
import { canonical, mergeStatus, SHARED_STATUS_LISTS, withoutOurEntries } from './status-merge.js';

export interface StatusWriterOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly controllerName: string;
  /** Where each kind is served (from discovery). */
  readonly resources: () => ReadonlyMap<string, ResourceSpec>;
  /** The live object as the informer cache has it. */
  readonly lookup: (kind: string, namespace: string, name: string) => KubeObject | undefined;
  /** All cached objects of a kind (to find stale entries of ours). */
  readonly list: (kind: string) => readonly KubeObject[];
  readonly fieldManager?: string;
  readonly concurrency?: number;
  readonly maxConflictRetries?: number;
  readonly metrics?: Registry;
}

interface Pending {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** The desired status, or undefined to remove our entries from a shared list. */
  readonly status: Record<string, unknown> | undefined;
}

interface Written {
  /** resourceVersion the write was based on, and the object the server returned. */
  readonly basedOn: string | undefined;
  readonly response: KubeObject;
  /** What we sent and what the server stored (it may fill in defaults), canonical JSON. */
  readonly sent: string;
  readonly stored: string;
}

type Outcome = 'written' | 'unchanged' | 'gone';

/**
 * Writes computed statuses through the /status subresource, only while this
 * process leads. Every write is a PUT carrying the resourceVersion it was
 * computed from; on 409 Conflict it refetches, re-merges and retries. Writes
 * are skipped when the merged status equals what is live. In shared lists
 * (route parents, policy ancestors) only entries with our controllerName are
 * touched. Work is keyed per object and coalesced: only the newest desired
 * status of an object is ever written.
 */
export class StatusWriter {
  readonly #opts: StatusWriterOptions;
  #leading = false;
  /** The latest desired statuses, by key; replayed when we become leader. */
  #desired = new Map<string, Pending>();
  readonly #queue = new Map<string, Pending>();
  readonly #inFlight = new Set<string>();
  readonly #retryTimers = new Map<string, NodeJS.Timeout>();
  readonly #retryDelay = new Map<string, number>();
  readonly #written = new Map<string, Written>();
  #idleWaiters: Array<() => void> = [];
  #writes = 0;
  #closed = false;
  readonly #counter: Counter<'kind' | 'result'> | undefined;

  constructor(opts: StatusWriterOptions) {
    this.#opts = opts;
    if (opts.metrics) {
      this.#counter = new Counter({
        name: 'sluice_status_updates_total',
        help: 'Status writes to the Kubernetes API, by kind and result (written, unchanged, conflict, error)',
        labelNames: ['kind', 'result'],
        registers: [opts.metrics],
      });
    }
  }

  /** Status writes that reached the API server and succeeded. */
  get writes(): number {
    return this.#writes;
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** Start or stop writing. Becoming leader writes the whole latest desired set once. */
  setLeader(leading: boolean): void {
    if (this.#leading === leading) return;
    this.#leading = leading;
    if (leading) {
      for (const [key, p] of this.#desired) this.#enqueueIfChanged(key, p);
      this.#enqueueStale();
    } else {
      this.#queue.clear();
      for (const t of this.#retryTimers.values()) clearTimeout(t);
      this.#retryTimers.clear();
      this.#written.clear();
    }
    this.#pump();
  }

  /** The statuses computed from the newest snapshot: the full set, not a delta. */
  publish(statuses: readonly ObjectStatus[]): void {
    const next = new Map<string, Pending>();
    for (const s of statuses) {
      const key = keyOf(s.kind, s.namespace, s.name);
      next.set(key, { kind: s.kind, namespace: s.namespace, name: s.name, status: s.status });
    }
    this.#desired = next;
    for (const key of this.#written.keys()) if (!next.has(key)) this.#written.delete(key);
    if (!this.#leading) return;
    for (const [key, p] of next) this.#enqueueIfChanged(key, p);
    this.#enqueueStale();
    this.#pump();
  }

  /** Queue a write unless the cache already shows exactly this status (the common case: most snapshots change little). */
  #enqueueIfChanged(key: string, p: Pending): void {
    if (this.#queue.has(key) || this.#inFlight.has(key) || this.#retryTimers.has(key)) {
      this.#enqueue(key, p);
      return;
    }
    const live = this.#live(key, p);
    if (live && p.status !== undefined && this.#isUnchanged(key, p, live)) return;
    this.#enqueue(key, p);
  }

  /** The merged status would not change what is live (or what the server stored for the same input). */
  #isUnchanged(key: string, p: Pending, live: KubeObject): boolean {
    const liveStatus = live.status as Record<string, unknown> | undefined;
    const next = p.status === undefined
      ? withoutOurEntries(p.kind, liveStatus, this.#opts.controllerName)
      : mergeStatus(p.kind, liveStatus, p.status, this.#opts.controllerName);
    if (next === undefined) return true;
    const sent = canonical(next);
    const current = canonical(liveStatus ?? {});
    if (sent === current) return true;
    const prev = this.#written.get(key);
    return prev !== undefined && prev.sent === sent && prev.stored === current;
  }

  /** Resolves when nothing is queued, in flight or waiting to retry. */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): void {
    this.#closed = true;
    this.#queue.clear();
    for (const t of this.#retryTimers.values()) clearTimeout(t);
    this.#retryTimers.clear();
    this.#notifyIdle();
  }

  /** Objects with entries of ours in a shared list that the translator no longer mentions. */
  #enqueueStale(): void {
    for (const kind of Object.keys(SHARED_STATUS_LISTS)) {
      if (!this.#opts.resources().has(kind)) continue;
      for (const obj of this.#opts.list(kind)) {
        const ns = obj.metadata?.namespace ?? '';
        const name = obj.metadata?.name ?? '';
        const key = keyOf(kind, ns, name);
        if (this.#desired.has(key)) continue;
        if (withoutOurEntries(kind, obj.status as Record<string, unknown> | undefined, this.#opts.controllerName)) {
          this.#enqueue(key, { kind, namespace: ns, name, status: undefined });
        }
      }
    }
  }

  #enqueue(key: string, p: Pending): void {
    if (this.#closed) return;
    this.#queue.set(key, p);
  }

  #pump(): void {
    const limit = this.#opts.concurrency ?? 4;
    for (const [key, p] of this.#queue) {
      if (!this.#leading || this.#closed || this.#inFlight.size >= limit) break;
      if (this.#inFlight.has(key) || this.#retryTimers.has(key)) continue;
      this.#queue.delete(key);
      this.#inFlight.add(key);
      void this.#writeOne(key, p)
        .then((outcome) => {
          this.#retryDelay.delete(key);
          this.#counter?.inc({ kind: p.kind, result: outcome });
        })
        .catch((err: unknown) => {
          this.#counter?.inc({ kind: p.kind, result: 'error' });
          this.#scheduleRetry(key, p, err);
        })
        .finally(() => {
          this.#inFlight.delete(key);
          this.#pump();
          this.#notifyIdle();
        });
    }
    this.#notifyIdle();
  }

  #scheduleRetry(key: string, p: Pending, err: unknown): void {
    const delay = Math.min((this.#retryDelay.get(key) ?? 500) * 2, 30_000);
    this.#retryDelay.set(key, delay);
    this.#opts.logger.warn({ object: key, err: errorMessage(err), retryInMs: delay }, 'status write failed; will retry');
    const t = setTimeout(() => {
      this.#retryTimers.delete(key);
      // A newer desired status may have been queued meanwhile; it wins.
      if (!this.#queue.has(key) && this.#leading) this.#queue.set(key, this.#desired.get(key) ?? p);
      this.#pump();
    }, delay);
    t.unref?.();
    this.#retryTimers.set(key, t);
  }

  #isIdle(): boolean {
    return this.#closed || ((this.#queue.size === 0 || !this.#leading) && this.#inFlight.size === 0 && this.#retryTimers.size === 0);
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The freshest copy we know of: the cache, or our own last write when the cache has not caught up yet. */
  #live(key: string, p: Pending): KubeObject | undefined {
    const cached = this.#opts.lookup(p.kind, p.namespace, p.name);
    const w = this.#written.get(key);
    if (cached && w && cached.metadata?.uid === w.response.metadata?.uid && cached.metadata?.resourceVersion === w.basedOn) {
      return w.response;
    }
    return cached;
  }

  async #writeOne(key: string, p: Pending): Promise<Outcome> {
    const resource = resourceForKind(this.#opts.resources(), p.kind);
    if (!resource) return 'gone';
    const path = objectPath(resource, p.namespace, p.name, 'status');
    const attempts = (this.#opts.maxConflictRetries ?? 5) + 1;
    let live = this.#live(key, p);
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (!this.#leading || this.#closed) return 'unchanged';
      if (!live || attempt > 0) {
        // Read the object itself: RBAC grants get on gateways, only update/patch on gateways/status.
        live = await this.#opts.client.getOptional<KubeObject>(objectPath(resource, p.namespace, p.name));
        if (!live) return 'gone';
      }
      // The server may normalise what we send (CRD defaults); what it stored for the same input counts as equal.
      if (this.#isUnchanged(key, p, live)) return 'unchanged';
      const liveStatus = live.status as Record<string, unknown> | undefined;
      const next = p.status === undefined
        ? withoutOurEntries(p.kind, liveStatus, this.#opts.controllerName)!
        : mergeStatus(p.kind, liveStatus, p.status, this.#opts.controllerName);
      const sent = canonical(next);
      try {
        const response = await this.#opts.client.replace<KubeObject>(path, { ...live, status: next }, { fieldManager: this.#opts.fieldManager ?? 'sluice' });
        this.#written.set(key, { basedOn: live.metadata?.resourceVersion, response, sent, stored: canonical(response.status ?? {}) });
        this.#writes++;
        this.#opts.logger.debug({ object: key }, 'status written');
        return 'written';
      } catch (err) {
        if (err instanceof KubeApiError && err.isNotFound) return 'gone';
        if (!(err instanceof KubeApiError && err.isConflict)) throw err;
        this.#counter?.inc({ kind: p.kind, result: 'conflict' });
      }
    }
    throw new KubeApiError('PUT', path, 409, 'Conflict', `still conflicting after ${attempts} attempts`);
  }
}

function keyOf(kind: string, namespace: string, name: string): string {
  return namespace ? `${kind}/${namespace}/${name}` : `${kind}/${name}`;
}
