import type { KubeClient, KubeObject } from './client.js';
import { errorMessage } from './client.js';
import { KubeApiError } from './errors.js';
import { CORE_RESOURCES, collectionPath, objectPath } from './resources.js';
import type { Logger } from '../util/log.js';

export interface LeaderElectorOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  /** Unique per process; the pod name in a cluster. */
  readonly identity: string;
  readonly logger: Logger;
  /** How long a lease is valid without renewal (default 15 s). */
  readonly leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down (default 10 s). */
  readonly renewDeadlineMs?: number;
  /** Pause between attempts (default 2 s). */
  readonly retryPeriodMs?: number;
  readonly onStartedLeading?: () => void;
  readonly onStoppedLeading?: () => void;
  readonly now?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/**
 * Leader election over a coordination.k8s.io/v1 Lease, following client-go's
 * rules: a lease held by someone else counts as expired only when its record
 * has not changed for leaseDuration *as measured by our own clock* (so clock
 * skew between nodes does not matter); every write carries the
 * resourceVersion we read, so two candidates can never both win; a leader
 * that cannot renew within renewDeadline stops leading before its lease can
 * expire for the others. On a graceful stop the leader releases the lease so
 * a successor takes over at once.
 */
export class LeaderElector {
  readonly #opts: LeaderElectorOptions;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  #leading = false;
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  /** The last lease record we saw, when (our clock) it last changed, and how long it is valid. */
  #observed: { key: string; at: number; durationMs?: number; holder?: string } | undefined;
  #lastRenew = 0;
  #loop: Promise<void> | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.#opts = opts;
    this.#leaseMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.#renewDeadlineMs < this.#leaseMs)) throw new RangeError('renewDeadline must be shorter than the lease duration');
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  get identity(): string {
    return this.#opts.identity;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#tick();
  }

  /** Stop campaigning; a leader releases the lease (unless `release` is false, which simulates a crash). */
  async stop(release = true): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#loop;
    if (this.#leading) {
      this.#setLeading(false);
      if (release) await this.#release();
    }
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#loop = this.#attempt().finally(() => {
      this.#loop = undefined;
      if (this.#stopped) return;
      this.#timer = setTimeout(() => this.#tick(), this.#jitter());
      this.#timer.unref?.();
    });
  }

  #jitter(): number {
    if (this.#leading) return this.#retryMs;
    // Followers add up to 20 % so candidates do not hammer the API server in lockstep...
    const jittered = Math.round(this.#retryMs * (1 + Math.random() * 0.2));
    // ...but try right when the holder's lease runs out, rather than up to a period later.
    const o = this.#observed;
    if (o?.durationMs !== undefined && o.holder && o.holder !== this.#opts.identity) {
      const untilExpiry = o.at + o.durationMs - this.#now();
      if (untilExpiry >= 0 && untilExpiry < jittered) return untilExpiry + 50;
    }
    return jittered;
  }

  async #attempt(): Promise<void> {
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (err) {
      this.#opts.logger.warn({ err: errorMessage(err), lease: this.#leaseKey() }, 'leader election: lease update failed');
    }
    if (ok) {
      this.#lastRenew = this.#now();
      if (!this.#leading) this.#setLeading(true);
    } else if (this.#leading && this.#now() - this.#lastRenew >= this.#renewDeadlineMs) {
      this.#opts.logger.warn({ lease: this.#leaseKey() }, 'leader election: could not renew the lease in time; stepping down');
      this.#setLeading(false);
    }
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#opts.logger.info({ identity: this.#opts.identity, lease: this.#leaseKey() }, leading ? 'became leader' : 'stopped leading');
    try {
      if (leading) this.#opts.onStartedLeading?.();
      else this.#opts.onStoppedLeading?.();
    } catch (err) {
      this.#opts.logger.error({ err: errorMessage(err) }, 'leader election callback failed');
    }
  }

  #leaseKey(): string {
    return `${this.#opts.namespace}/${this.#opts.name}`;
  }

  #path(): string {
    return objectPath(CORE_RESOURCES.Lease, this.#opts.namespace, this.#opts.name);
  }

  /** One round; true when we hold the lease afterwards. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { client, identity } = this.#opts;
    const now = this.#now();
    const nowTime = microTime(now);
    const current = await client.getOptional<Lease>(this.#path());
    if (!current) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.#opts.name, namespace: this.#opts.namespace },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
          acquireTime: nowTime,
          renewTime: nowTime,
          leaseTransitions: 0,
        },
      };
      try {
        await client.create(collectionPath(CORE_RESOURCES.Lease, this.#opts.namespace), lease);
      } catch (err) {
        if (err instanceof KubeApiError && (err.status === 409 || err.reason === 'AlreadyExists')) return false;
        throw err;
      }
      this.#observed = { key: recordKey(lease.spec!), at: now };
      return true;
    }

    const spec = current.spec ?? {};
    const key = recordKey(spec);
    const holder = spec.holderIdentity ?? '';
    const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.#leaseMs / 1000)) * 1000;
    if (!this.#observed || this.#observed.key !== key) this.#observed = { key, at: now, durationMs, holder };
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && this.#observed.at + durationMs > now) return false;

    const mine = holder === identity;
    const next: Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
        renewTime: nowTime,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : nowTime,
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      await client.replace(this.#path(), next);
    } catch (err) {
      // Someone else wrote first: we lost this round.
      if (err instanceof KubeApiError && err.isConflict) return false;
      throw err;
    }
    this.#observed = { key: recordKey(next.spec!), at: now };
    return true;
  }

  /** Hand the lease back: empty holder and a 1 s duration, as client-go's ReleaseOnCancel does. */
  async #release(): Promise<void> {
    try {
      const current = await this.#opts.client.getOptional<Lease>(this.#path());
      if (!current || current.spec?.holderIdentity !== this.#opts.identity) return;
      const nowTime = microTime(this.#now());
      await this.#opts.client.replace(this.#path(), {
        ...current,
        spec: { ...current.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: nowTime, acquireTime: nowTime },
      });
      this.#opts.logger.info({ lease: this.#leaseKey() }, 'released the leader lease');
    } catch (err) {
      this.#opts.logger.warn({ err: errorMessage(err) }, 'could not release the leader lease; it will expire');
    }
  }
}

function recordKey(spec: LeaseSpec): string {
  return JSON.stringify([spec.holderIdentity ?? '', spec.renewTime ?? '', spec.acquireTime ?? '', spec.leaseTransitions ?? 0]);
}

/** metav1.MicroTime: RFC 3339 with microseconds. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
