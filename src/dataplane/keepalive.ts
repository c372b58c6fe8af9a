import type { Socket } from 'node:net';

const kLastUse = Symbol('sluice.lastUse');

/** The node:http internals the sweep reads: the response in progress and the parser (null once upgraded). */
interface TrackedSocket extends Socket {
  [kLastUse]?: number;
  _httpMessage?: unknown;
  parser?: unknown;
}

/**
 * How often an idle-connection sweep runs and after how many sweeps without
 * use a connection is closed, for a keep-alive timeout of `idleMs`: node:http's
 * own 1 s margin is added (a client reusing a connection right at the
 * announced timeout still finds it open), and at most one sweep a second.
 */
export function idleSweepSchedule(idleMs: number): { readonly sweepMs: number; readonly limitTicks: number } {
  const ms = idleMs + 1_000;
  const sweepMs = Math.min(1_000, Math.max(25, Math.floor(ms / 8)));
  return { sweepMs, limitTicks: Math.max(1, Math.ceil(ms / sweepMs)) };
}

/**
 * Closes idle HTTP/1.1 keep-alive connections after `idleMs` (plus node's
 * own 1 s margin), with one sweep per second instead of node:http's
 * keepAliveTimeout, which re-arms a socket timer twice per request (about
 * 3 % of the proxy's CPU under load). A request only stores the current
 * sweep tick on its socket. A connection with a response in progress is in
 * use; upgraded connections (no parser any more) are left alone.
 */
export class KeepAliveSweeper {
  readonly #sockets = new Set<TrackedSocket>();
  readonly #limitTicks: number;
  readonly #sweepMs: number;
  #tick = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #sweep = (): void => this.sweep();

  constructor(idleMs: number) {
    ({ sweepMs: this.#sweepMs, limitTicks: this.#limitTicks } = idleSweepSchedule(idleMs));
  }

  /** A request arrived on `socket`. */
  used(socket: Socket): void {
    const s = socket as TrackedSocket;
    if (s[kLastUse] === undefined) this.#track(s);
    s[kLastUse] = this.#tick;
  }

  #track(s: TrackedSocket): void {
    this.#sockets.add(s);
    s.once('close', () => this.#sockets.delete(s));
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#sweep, this.#sweepMs);
      this.#timer.unref();
    }
  }

  sweep(): void {
    const tick = ++this.#tick;
    for (const s of this.#sockets) {
      if (s.destroyed || s.parser === null) {
        this.#sockets.delete(s);
        continue;
      }
      if (s._httpMessage !== null && s._httpMessage !== undefined) {
        s[kLastUse] = tick;
        continue;
      }
      if (tick - (s[kLastUse] ?? tick) > this.#limitTicks) s.destroy();
    }
    if (this.#sockets.size === 0) this.stop();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
