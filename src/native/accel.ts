/**
 * EXPERIMENTAL, off by default: same-node acceleration with sock_ops + sk_msg
 * (bpf/accel.bpf.c). Connections between local endpoints (127.0.0.0/8 or the
 * given node addresses) on the given ports, established by processes in the
 * given cgroup v2 directory, have their sendmsg() payload moved directly into
 * the peer socket's receive queue. Both ends must be in that cgroup (a
 * gateway and a backend on the same node: attach to a common ancestor).
 *
 * It changes socket semantics (TCP byte counters stay 0, a blocking recv() in
 * another program can return EAGAIN, memory accounting differs) and Cilium
 * removed the same design after user breakage: soak it before recommending it.
 * Sockets it accelerates are never spliced (SpliceEngine gets EBUSY and the
 * connection is piped, which sk_msg then accelerates).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import { loadAddon, addonUnavailableReason, type NativeAddon, type NativeError } from './addon.js';

export interface AccelOptions {
  /** Ports (either end) whose connections are accelerated. */
  ports: readonly number[];
  /** cgroup v2 directory to attach to; default: this process's own cgroup. */
  cgroup?: string;
  /** Node addresses besides 127.0.0.0/8 (IPv4). */
  localAddrs?: readonly string[];
  logger?: Logger;
  addon?: NativeAddon | null;
  objectPath?: string;
}

export interface AccelStats {
  readonly active: boolean;
  readonly inserted?: number;
  readonly insertFail?: number;
  readonly msgsRedirected?: number;
  readonly bytesRedirected?: number;
  readonly msgsWithoutPeer?: number;
}

export function accelObjectPath(): string {
  return process.env.SLUICE_ACCEL_OBJECT ?? fileURLToPath(new URL('../../bpf/accel.bpf.o', import.meta.url));
}

/** The cgroup v2 directory of this process (hybrid or unified hierarchy), or null. */
export function ownCgroupPath(): string | null {
  try {
    const mount = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' '))
      .find((fields) => fields[fields.indexOf('-') + 1] === 'cgroup2')?.[4];
    const rel = readFileSync('/proc/self/cgroup', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('0::'))
      ?.slice(3);
    return mount && rel !== undefined ? path.join(mount, rel) : null;
  } catch {
    return null;
  }
}

export class SameNodeAccel {
  readonly #options: AccelOptions;
  readonly #logger: Logger;
  readonly #addon: NativeAddon | null;
  #active = false;

  constructor(options: AccelOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger();
    this.#addon = options.addon === undefined ? loadAddon() : options.addon;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Attaches the programs. Never throws: `{ ok: false, reason }` leaves everything as it was. */
  start(): { ok: boolean; reason: string } {
    if (this.#active) return { ok: true, reason: 'already active' };
    if (!this.#addon) return { ok: false, reason: addonUnavailableReason() };
    const cgroup = this.#options.cgroup ?? ownCgroupPath();
    if (!cgroup) return { ok: false, reason: 'no cgroup v2 hierarchy found' };
    try {
      const info = this.#addon.accelStart(this.#options.objectPath ?? accelObjectPath(), {
        cgroup,
        ports: [...this.#options.ports],
        localAddrs: [...(this.#options.localAddrs ?? [])],
      });
      this.#active = true;
      this.#logger.warn({ cgroup: info.cgroup, ports: this.#options.ports }, 'EXPERIMENTAL same-node sk_msg acceleration on');
      return { ok: true, reason: `attached to ${info.cgroup}` };
    } catch (err) {
      const e = err as NativeError;
      return { ok: false, reason: e.message };
    }
  }

  stats(): AccelStats {
    return this.#addon ? this.#addon.accelStats() : { active: false };
  }

  /** Detaches; accelerated sockets go back to the normal TCP path. */
  stop(): void {
    if (this.#active) this.#addon?.accelStop();
    this.#active = false;
  }
}
