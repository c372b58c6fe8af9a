export interface DebounceOptions {
  /** Fire this long after the last event (quiet period). */
  readonly quietMs: number;
  /** ...but never later than this after the first event of a burst. */
  readonly maxMs: number;
  readonly setTimer?: (fn: () => void, ms: number) => unknown;
  readonly clearTimer?: (handle: unknown) => void;
  readonly now?: () => number;
}

/**
 * Coalesces bursts of events into one call: `fn` runs `quietMs` after the
 * last trigger, or `maxMs` after the first trigger of the burst, whichever
 * comes first. Informer relists fire hundreds of events at once; this turns
 * them into one snapshot.
 */
export class Debouncer {
  readonly #fn: () => void;
  readonly #opts: DebounceOptions;
  #timer: unknown;
  #burstStart: number | undefined;
  #closed = false;

  constructor(fn: () => void, opts: DebounceOptions) {
    this.#fn = fn;
    this.#opts = opts;
  }

  trigger(): void {
    if (this.#closed) return;
    const now = this.#now();
    this.#burstStart ??= now;
    const untilMax = this.#burstStart + this.#opts.maxMs - now;
    const wait = Math.max(0, Math.min(this.#opts.quietMs, untilMax));
    this.#clear();
    this.#timer = this.#set(() => this.#fire(), wait);
  }

  /** Run now if a call is pending. */
  flush(): void {
    if (this.#burstStart === undefined) return;
    this.#clear();
    this.#fire();
  }

  /** Drop a pending call without closing. */
  cancel(): void {
    this.#clear();
    this.#burstStart = undefined;
  }

  close(): void {
    this.#closed = true;
    this.#clear();
    this.#burstStart = undefined;
  }

  get pending(): boolean {
    return this.#burstStart !== undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#burstStart = undefined;
    this.#fn();
  }

  #clear(): void {
    if (this.#timer !== undefined) (this.#opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout)))(this.#timer);
    this.#timer = undefined;
  }

  #set(fn: () => void, ms: number): unknown {
    if (this.#opts.setTimer) return this.#opts.setTimer(fn, ms);
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  }

  #now(): number {
    return this.#opts.now?.() ?? performance.now();
  }
}
