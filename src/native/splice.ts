/**
 * Kernel splicing of L4 connections (TLS passthrough, TCPRoute): once the
 * backend socket is connected, the BPF programs forward bytes between the two
 * sockets and Node stops reading them. Protocol and pitfalls:
 * docs ebpf-sockmap-brief.md, sections 1.6 and 3.1.
 *
 * Usage by an L4 listener:
 *   const engine = await createSpliceEngine({ mode: 'auto', logger });   // once
 *   net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
 *     // optional: engine.peek(client, 16384) to read the ClientHello for SNI
 *     const upstream = net.connect({ host, port, allowHalfOpen: true });
 *     upstream.pause();
 *     upstream.once('connect', () => relay(engine, client, upstream, onDone));
 *   });
 * relay() splices when it can and otherwise pipes in userspace.
 *
 * File descriptors come from `socket._handle.fd`: `_handle` is Node's internal
 * TCPWrap (a LibuvStreamWrap); its `fd` getter returns the OS descriptor on
 * Unix (-1 on Windows). It is not public API, but it has been stable since
 * Node 0.x and nothing public exposes the fd of a net.Socket. TLSSocket handles
 * have no usable fd (TLS is terminated in userspace), so they are never spliced.
 */
import type { Socket } from 'node:net';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import { SluiceError } from '../errors.js';
import {
  addonUnavailableReason,
  bpfObjectPath,
  EVENT_ERR,
  EVENT_HUP,
  EVENT_RDHUP,
  loadAddon,
  probe,
  type NativeAddon,
  type NativeError,
  type LoadInfo,
  type NativeStats,
  type ProbeResult,
} from './addon.js';
import { pipeFallback, type RelayDone, type RelayResult } from './pipe.js';
import { runSelfTest, type SelfTestOptions, type SelfTestResult } from './selftest.js';

export { probe, loadAddon, bpfObjectPath, addonPath, nativeDisabled } from './addon.js';
export type { LoadInfo, NativeAddon, NativeStats, ProbeResult, PairBytes, NativeError } from './addon.js';
export { pipeFallback } from './pipe.js';
export type { RelayDone, RelayResult } from './pipe.js';
export type { SelfTestOptions, SelfTestResult } from './selftest.js';
export { registerSpliceMetrics } from './metrics.js';
export { SameNodeAccel, ownCgroupPath, accelObjectPath } from './accel.js';
export type { AccelOptions, AccelStats } from './accel.js';

export type EbpfMode = 'auto' | 'on' | 'off';

/** `--ebpf=on` when splicing is impossible. */
export class SpliceUnavailableError extends SluiceError {
  constructor(message: string) {
    super('ERR_SLUICE_SPLICE_UNAVAILABLE', message);
  }
}

export interface SpliceEngineOptions {
  logger?: Logger;
  /** SO_SNDBUF(FORCE) of spliced sockets: the kernel retries a full send queue only one jiffy later (P10). */
  sndbuf?: number;
  /** Give up (reset both sides) when a half-close drain makes no progress for this long. */
  drainTimeoutMs?: number;
  /** Sockets per BPF map (two per connection). */
  maxSockets?: number;
  /** Use this addon instead of loading one (tests). */
  addon?: NativeAddon | null;
  objectPath?: string;
}

/** Counters for metrics: kernel bytes plus this engine's decisions. */
export interface SpliceStats extends NativeStats {
  readonly enabled: boolean;
  /** splice() calls that returned false (the caller piped instead). */
  readonly refused: number;
  /** Pairs torn down by an error or RST. */
  readonly aborted: number;
}

interface Pair {
  readonly id: number;
  readonly sockets: readonly [Socket, Socket];
  readonly fds: readonly [number, number];
  readonly eof: [boolean, boolean];
  /** FIN sent on this side (after the opposite direction drained). */
  readonly shut: [boolean, boolean];
  readonly timers: [NodeJS.Timeout | undefined, NodeJS.Timeout | undefined];
  readonly listeners: Array<() => void>;
  readonly onDone: RelayDone | undefined;
  done: boolean;
}

interface SocketInternals {
  _handle?: { fd?: number; reading?: boolean; readStop?: () => number } | null;
}

/** The OS file descriptor of a connected TCP socket, or -1. */
export function socketFd(socket: Socket): number {
  const handle = (socket as unknown as SocketInternals)._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

const DEFAULT_SNDBUF = 16 << 20;
const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
const DRAIN_POLL_MAX_MS = 50;

export class SpliceEngine {
  readonly #logger: Logger;
  readonly #addon: NativeAddon | null;
  readonly #sndbuf: number;
  readonly #drainTimeoutMs: number;
  readonly #maxSockets: number | undefined;
  readonly #objectPath: string;
  readonly #pairs = new Map<number, Pair>();
  #loaded = false;
  #loadInfo: LoadInfo | undefined;
  #enabled = false;
  #reason: string;
  #refused = 0;
  #aborted = 0;

  constructor(options: SpliceEngineOptions = {}) {
    this.#logger = options.logger ?? silentLogger();
    this.#addon = options.addon === undefined ? loadAddon() : options.addon;
    this.#sndbuf = options.sndbuf ?? DEFAULT_SNDBUF;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.#maxSockets = options.maxSockets;
    this.#objectPath = options.objectPath ?? bpfObjectPath();
    this.#reason = this.#addon ? 'not loaded' : addonUnavailableReason();
  }

  /** True once load() and selfTest() succeeded: splice() may return true. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Why splicing is off (or 'enabled'). */
  get reason(): string {
    return this.#enabled ? 'enabled' : this.#reason;
  }

  /** How the programs were attached and their kernel ids, once loaded. */
  get loadInfo(): LoadInfo | undefined {
    return this.#loaded ? this.#loadInfo : undefined;
  }

  probe(): ProbeResult {
    if (!this.#addon) return { ok: false, code: 'ERR_SLUICE_NATIVE_UNAVAILABLE', reason: this.#reason };
    try {
      return this.#addon.probe();
    } catch (err) {
      return { ok: false, code: 'ERR_SLUICE_NATIVE_PROBE', reason: (err as Error).message };
    }
  }

  /** Probes, then loads and attaches the BPF programs. Does not enable splicing: selfTest() does. */
  load(): ProbeResult {
    if (this.#loaded) return { ok: true, code: null, reason: 'loaded' };
    const probed = this.probe();
    if (!probed.ok) {
      this.#reason = probed.reason;
      return probed;
    }
    try {
      const info = this.#addon!.load(this.#objectPath, (id, side, flags, error) => this.#onEvent(id, side, flags, error), {
        ...(this.#maxSockets ? { maxSockets: this.#maxSockets } : {}),
      });
      this.#loaded = true;
      this.#loadInfo = info;
      this.#logger.debug({ attach: info.attach, maxSockets: info.maxSockets }, 'sockmap programs loaded');
      return { ok: true, code: null, reason: `loaded (${info.attach})` };
    } catch (err) {
      const e = err as NativeError;
      this.#reason = `loading ${this.#objectPath} failed: ${e.message}`;
      if (e.log) this.#logger.debug({ libbpf: e.log }, 'libbpf log');
      return { ok: false, code: e.code ?? 'ERR_SLUICE_NATIVE_LOAD', reason: this.#reason };
    }
  }

  /**
   * Loopback echo through a real splice, checked byte for byte and against
   * the BPF byte counters (proof that the kernel, not Node, moved the bytes).
   * Its outcome switches splicing on or off.
   */
  async selfTest(options: SelfTestOptions = {}): Promise<SelfTestResult> {
    if (!this.#loaded) {
      const loaded = this.load();
      if (!loaded.ok) return { ok: false, reason: loaded.reason };
    }
    const result = await runSelfTest(
      {
        splice: (a, b, onDone) => this.#splice(a, b, onDone),
        stats: () => this.#addon!.stats(),
      },
      options,
    );
    this.#enabled = result.ok;
    if (!result.ok) this.#reason = `self-test failed: ${result.reason}`;
    return result;
  }

  /**
   * Hands both connected sockets to the kernel. Returns false when the pair is
   * not spliced: then, if the sockets are not destroyed, nothing was consumed
   * and the caller relays them in userspace (pipeFallback). Returns true when
   * spliced: the engine owns both sockets until they close, propagates FIN
   * (after a drain check) and RST, and calls onDone once.
   *
   * Requirements, else false: both sockets connected TCP (not TLSSocket), open
   * both ways, nothing buffered in Node (readableLength and writableLength 0:
   * wait for write callbacks before splicing). Node must not read them
   * afterwards (do not resume() or add 'data' listeners); Node's socket
   * timeouts are cleared because Node sees no traffic.
   */
  splice(a: Socket, b: Socket, onDone?: RelayDone): boolean {
    if (!this.#enabled) return false;
    return this.#splice(a, b, onDone);
  }

  #splice(a: Socket, b: Socket, onDone?: RelayDone): boolean {
    const refuse = (why: string) => {
      this.#refused++;
      this.#logger.debug({ why }, 'splice refused, relaying in userspace');
      return false;
    };
    const addon = this.#addon;
    if (!addon || !this.#loaded) return refuse('programs not loaded');
    for (const s of [a, b]) {
      if ('encrypted' in s) return refuse('TLS socket');
      if (s.destroyed || s.connecting || !s.readable || !s.writable || s.readableEnded || s.writableEnded) {
        return refuse('socket not open both ways');
      }
      if (s.readableLength > 0 || s.writableLength > 0) return refuse('bytes buffered in Node');
    }
    const fds = [socketFd(a), socketFd(b)] as const;
    if (fds[0] < 0 || fds[1] < 0) return refuse('no file descriptor');

    // Stop reading in Node before the kernel takes over; a paused socket that
    // never started reading (pauseOnConnect, pause() before connect) is a no-op.
    for (const s of [a, b]) {
      s.pause();
      const handle = (s as unknown as SocketInternals)._handle;
      if (handle?.readStop) {
        handle.reading = false;
        handle.readStop();
      }
    }

    let id: number;
    try {
      id = addon.splice(fds[0], fds[1], { sndbuf: this.#sndbuf, consumedA: a.bytesRead, consumedB: b.bytesRead });
    } catch (err) {
      const e = err as NativeError;
      if (e.fatal) {
        // Bytes may have moved through the kernel already: piping now could
        // reorder or lose them, so the connection is reset instead.
        this.#logger.warn({ err: e.message, code: e.code }, 'splice failed after insertion; resetting the connection');
        this.#aborted++;
        a.resetAndDestroy();
        b.resetAndDestroy();
        onDone?.({ aToB: 0, bToA: 0, path: 'kernel', error: e.code ?? 'EIO' });
        return false;
      }
      return refuse(`${e.code ?? 'error'}: ${e.message}`);
    }

    const pair: Pair = {
      id,
      sockets: [a, b],
      fds,
      eof: [false, false],
      shut: [false, false],
      timers: [undefined, undefined],
      listeners: [],
      onDone,
      done: false,
    };
    this.#pairs.set(id, pair);
    for (const side of [0, 1] as const) {
      const socket = pair.sockets[side];
      socket.setTimeout(0);
      const onError = (err: NodeJS.ErrnoException) => this.#abort(pair, side, err.code ?? 'EIO');
      // Closed by someone else (e.g. a gateway shutting down): close the peer too.
      const onClose = () => this.#abort(pair, side, 'ECLOSED');
      socket.on('error', onError);
      socket.on('close', onClose);
      pair.listeners.push(() => {
        socket.off('error', onError);
        socket.off('close', onClose);
      });
    }
    return true;
  }

  /** recv(MSG_PEEK) on a socket Node is not reading (e.g. for the TLS ClientHello); null when nothing is queued or no addon. */
  peek(socket: Socket, maxBytes: number): Buffer | null {
    const fd = socketFd(socket);
    if (!this.#addon || fd < 0) return null;
    return this.#addon.peek(fd, maxBytes);
  }

  stats(): SpliceStats {
    const native: NativeStats = this.#addon && this.#loaded ? this.#addon.stats() : { loaded: false, connections: 0, splicedTotal: 0 };
    return { ...native, enabled: this.#enabled, refused: this.#refused, aborted: this.#aborted };
  }

  /** Spliced pairs that are still open. */
  get activePairs(): number {
    return this.#pairs.size;
  }

  /**
   * Stops splicing: open pairs are unspliced and their sockets destroyed, the
   * programs detached and the maps freed.
   */
  close(): void {
    for (const pair of [...this.#pairs.values()]) this.#abort(pair, 0, 'ECLOSED');
    if (this.#loaded) this.#addon?.close();
    this.#loaded = false;
    if (this.#enabled) this.#reason = 'closed';
    this.#enabled = false;
  }

  #onEvent(id: number, side: 0 | 1, flags: number, error: string | null): void {
    const pair = this.#pairs.get(id);
    if (!pair || pair.done) return;
    if (flags & EVENT_ERR && error) {
      this.#abort(pair, side, error);
      return;
    }
    if (flags & (EVENT_RDHUP | EVENT_HUP) && !pair.eof[side]) {
      pair.eof[side] = true;
      this.#drainThenShutdown(pair, side);
    }
  }

  /** EOF on `from`: once every byte it received is in the peer's send queue, send FIN on the peer (P5). */
  #drainThenShutdown(pair: Pair, from: 0 | 1): void {
    const to = (1 - from) as 0 | 1;
    let delay = 1;
    let last = Number.NaN;
    let lastProgress = Date.now();
    const check = () => {
      pair.timers[from] = undefined;
      if (pair.done) return;
      let remaining: number;
      try {
        remaining = this.#addon!.remaining(pair.id, from);
      } catch (err) {
        this.#abort(pair, from, (err as NativeError).code ?? 'EIO');
        return;
      }
      if (remaining <= 0) {
        try {
          this.#addon!.shutdownWrite(pair.fds[to]);
        } catch (err) {
          const code = (err as NativeError).code;
          if (code !== 'ENOTCONN') {
            this.#abort(pair, to, code ?? 'EIO');
            return;
          }
        }
        pair.shut[to] = true;
        if (pair.shut[0] && pair.shut[1]) this.#finish(pair);
        return;
      }
      const now = Date.now();
      if (remaining !== last) {
        last = remaining;
        lastProgress = now;
      } else if (now - lastProgress > this.#drainTimeoutMs) {
        this.#logger.warn({ pair: pair.id, remaining }, 'spliced bytes did not drain; resetting the connection');
        this.#abort(pair, from, 'ETIMEDOUT');
        return;
      }
      pair.timers[from] = setTimeout(check, delay);
      delay = Math.min(delay * 2, DRAIN_POLL_MAX_MS);
    };
    check();
  }

  #release(pair: Pair): RelayResult {
    pair.done = true;
    this.#pairs.delete(pair.id);
    for (const timer of pair.timers) if (timer) clearTimeout(timer);
    for (const off of pair.listeners) off();
    // Keep an 'error' listener: a late error on a socket being destroyed must not crash the process.
    for (const socket of pair.sockets) socket.on('error', () => {});
    let counters = null;
    try {
      counters = this.#addon!.unsplice(pair.id);
    } catch {
      // unsplice only fails when the programs were unloaded; the sockets are free anyway
    }
    return { aToB: counters?.aToB ?? 0, bToA: counters?.bToA ?? 0, path: 'kernel' };
  }

  /** Both directions ended cleanly. */
  #finish(pair: Pair): void {
    const result = this.#release(pair);
    for (const socket of pair.sockets) socket.destroy();
    pair.onDone?.(result);
  }

  /** Error or RST on `side` (or it was closed under us): reset the peer. */
  #abort(pair: Pair, side: 0 | 1, code: string): void {
    if (pair.done) return;
    const result = this.#release(pair);
    if (code !== 'ECLOSED') this.#aborted++;
    const peer = pair.sockets[1 - side]!;
    const self = pair.sockets[side]!;
    if (!peer.destroyed) {
      if (code === 'ECLOSED') peer.destroy();
      else peer.resetAndDestroy();
    }
    if (!self.destroyed) self.destroy();
    pair.onDone?.({ ...result, error: code });
  }
}

/**
 * Splices a pair when the engine can, else pipes it in userspace. `onDone`
 * runs once, when both sockets are closed or torn down.
 */
export function relay(engine: SpliceEngine | undefined, a: Socket, b: Socket, onDone?: RelayDone): 'kernel' | 'userspace' {
  if (engine?.enabled && engine.splice(a, b, onDone)) return 'kernel';
  if (!a.destroyed && !b.destroyed) pipeFallback(a, b, onDone);
  return 'userspace';
}

/**
 * The engine for `--ebpf=auto|on|off`:
 *   off  - never splices (no probe, no load);
 *   auto - probe, load and self-test; splicing is on only if all pass, and the
 *          reason is logged once otherwise;
 *   on   - as auto, but throws SpliceUnavailableError if splicing cannot work.
 */
export async function createSpliceEngine(options: SpliceEngineOptions & { mode: EbpfMode }): Promise<SpliceEngine> {
  const logger = options.logger ?? silentLogger();
  if (options.mode === 'off') {
    const engine = new SpliceEngine({ ...options, addon: null });
    logger.info('eBPF splicing off (--ebpf=off)');
    return engine;
  }
  const engine = new SpliceEngine(options);
  const result = await engine.selfTest();
  if (result.ok) {
    logger.info({ stats: engine.stats() }, 'eBPF sockmap splicing on for L4 connections');
  } else {
    engine.close();
    if (options.mode === 'on') throw new SpliceUnavailableError(`--ebpf=on but splicing is unavailable: ${engine.reason}`);
    logger.info({ reason: engine.reason }, 'eBPF splicing off; L4 connections are relayed in userspace');
  }
  return engine;
}
