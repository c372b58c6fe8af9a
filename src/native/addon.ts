/**
 * Loading the native sockmap addon (native/, built by `npm install` when
 * libbpf-dev and a compiler are present) and the compiled BPF object (bpf/).
 *
 * The addon is optional: when it is missing, hidden (SLUICE_DISABLE_NATIVE=1)
 * or cannot be loaded (e.g. libbpf.so.1 absent at run time), loadAddon()
 * returns null and Sluice relays L4 connections in userspace.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Answer of probe(): whether this process can splice at all. */
export interface ProbeResult {
  readonly ok: boolean;
  /** errno name (EPERM, ...) or a Sluice code when ok is false; null when ok. */
  readonly code: string | null;
  readonly reason: string;
}

/** Global counters of the loaded BPF programs (bytes since load()). */
export interface NativeStats {
  readonly loaded: boolean;
  /** Pairs currently spliced. */
  readonly connections: number;
  /** Pairs spliced since load(). */
  readonly splicedTotal: number;
  /** 'link' when the programs are attached through bpf_link (detached when the process dies). */
  readonly attach?: 'link' | 'prog_attach';
  readonly aToBBytes?: number;
  readonly bToABytes?: number;
  readonly aToBSkbs?: number;
  readonly bToASkbs?: number;
  /** Redirects that failed; their bytes stayed on the receiving socket. Should stay 0. */
  readonly redirectFail?: number;
  /** skbs seen on a socket with no peer entry. Should stay 0. */
  readonly noPeer?: number;
  /** Zero-length skbs dropped. */
  readonly zeroLength?: number;
}

/** Bytes the kernel moved for one pair: A->B is what socket A received and B sent. */
export interface PairBytes {
  readonly aToB: number;
  readonly bToA: number;
  readonly redirectFail: number;
}

/** Bit flags of a native event (EVENT_* exports of the addon). */
export const EVENT_RDHUP = 1;
export const EVENT_HUP = 2;
export const EVENT_ERR = 4;

/** (pair id, side 0 = A / 1 = B, EVENT_* flags, SO_ERROR name or null) */
export type NativeEventHandler = (id: number, side: 0 | 1, flags: number, error: string | null) => void;

/**
 * The addon's exports (native/src/addon.cc). Failing calls throw Node-style
 * system errors: `code` (errno name), `errno` (negative), `syscall`.
 */
export interface NativeAddon {
  probe(): ProbeResult;
  load(objectPath: string, onEvent: NativeEventHandler, options?: { maxSockets?: number }): LoadInfo;
  close(): void;
  /**
   * Splices two connected TCP sockets; returns the pair id. An error leaves the
   * sockets untouched unless it has `fatal: true` (bytes may have moved: destroy both).
   */
  splice(fdA: number, fdB: number, options?: { sndbuf?: number; consumedA?: number; consumedB?: number }): number;
  /** Removes a pair from the maps; returns its final counters, or null if unknown. */
  unsplice(id: number): PairBytes | null;
  unsplice(fdA: number, fdB: number): PairBytes | null;
  /** Bytes received on side `from` not yet handed to the other socket; <= 0 = drained. */
  remaining(id: number, from: 0 | 1): number;
  stats(): NativeStats;
  connStats(id: number): PairBytes | null;
  shutdownWrite(fd: number): void;
  /** recv(MSG_PEEK | MSG_DONTWAIT): queued bytes without consuming them; null if none yet. */
  peek(fd: number, maxBytes: number): Buffer | null;
  /** Whether the kernel still has a BPF program with this id. */
  programExists(id: number): boolean;
  /** EXPERIMENTAL sock_ops + sk_msg acceleration (src/native/accel.ts). */
  accelStart(objectPath: string, options: { cgroup: string; ports: number[]; localAddrs?: string[] }): { cgroup: string; msgAttach: 'link' | 'prog_attach' };
  accelStop(): void;
  accelStats(): { active: boolean; inserted?: number; insertFail?: number; msgsRedirected?: number; bytesRedirected?: number; msgsWithoutPeer?: number };
}

export interface LoadInfo {
  readonly attach: 'link' | 'prog_attach';
  readonly maxSockets: number;
  /** Kernel ids of the parser and verdict programs. */
  readonly programIds: readonly number[];
}

/** A system error thrown by the addon. */
export interface NativeError extends Error {
  code?: string;
  errno?: number;
  syscall?: string;
  fatal?: boolean;
  /** libbpf messages (verifier log) for load errors. */
  log?: string;
}

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** The addon file; src/native and dist/native are both two levels below the package root. */
export function addonPath(): string {
  return process.env.SLUICE_NATIVE_ADDON ?? here('../../native/build/Release/sluice_native.node');
}

/** The compiled BPF object shipped in the package. */
export function bpfObjectPath(): string {
  return process.env.SLUICE_BPF_OBJECT ?? here('../../bpf/splice.bpf.o');
}

export function nativeDisabled(): boolean {
  return process.env.SLUICE_DISABLE_NATIVE === '1';
}

let cached: { addon: NativeAddon | null; reason: string } | undefined;

/** Why the last loadAddon() returned null ('' when it did not). */
export function addonUnavailableReason(): string {
  if (nativeDisabled()) return 'native addon disabled by SLUICE_DISABLE_NATIVE=1';
  return cached?.reason ?? '';
}

/** The addon, or null when it is hidden, not built or not loadable. Never throws. */
export function loadAddon(): NativeAddon | null {
  if (nativeDisabled()) return null;
  if (cached) return cached.addon;
  const file = addonPath();
  if (process.platform !== 'linux') {
    cached = { addon: null, reason: `sockmap splicing needs Linux (this is ${process.platform})` };
  } else if (!existsSync(file)) {
    cached = { addon: null, reason: `native addon not built (${file} missing; npm install builds it when libbpf-dev, make and g++ are present)` };
  } else {
    try {
      const require = createRequire(import.meta.url);
      cached = { addon: require(file) as NativeAddon, reason: '' };
    } catch (err) {
      cached = { addon: null, reason: `native addon cannot be loaded: ${(err as Error).message.split('\n')[0]}` };
    }
  }
  return cached.addon;
}

/** Whether this process can splice: addon present and kernel/capabilities OK. Never throws. */
export function probe(): ProbeResult {
  const addon = loadAddon();
  if (!addon) return { ok: false, code: 'ERR_SLUICE_NATIVE_UNAVAILABLE', reason: addonUnavailableReason() };
  try {
    return addon.probe();
  } catch (err) {
    return { ok: false, code: 'ERR_SLUICE_NATIVE_PROBE', reason: (err as Error).message };
  }
}
