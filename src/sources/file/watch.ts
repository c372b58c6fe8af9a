import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError } from '../../errors.js';
import { loadFromInput, type LoadOptions, type LoadResult } from './load.js';
import { readInput } from './read.js';

export interface WatchOptions extends LoadOptions {
  /** Quiet time after the last file event before reloading. Default 100 ms. */
  readonly debounceMs?: number;
  /** Poll interval, the fallback for file systems and editors fs.watch misses. Default 1000 ms; 0 disables. */
  readonly pollMs?: number;
  /** Use fs.watch (default true). False leaves only the poll, e.g. for network file systems. */
  readonly fsWatch?: boolean;
  /**
   * The load the caller already applied (from loadConfig), so the watcher only
   * reports changes after it. Without it the watcher reads PATH once at start
   * and treats that as the baseline (a change in between is then missed).
   */
  readonly baseline?: LoadResult;
  /** A new complete load: apply it. */
  readonly onLoad?: (result: LoadResult) => void;
  /**
   * PATH changed but cannot be applied (missing, unreadable, a YAML syntax
   * error in some file): the previous configuration stays. `result` is the
   * failed load when PATH itself was readable.
   */
  readonly onError?: (err: InputError, result?: LoadResult) => void;
}

/**
 * Watches PATH and reloads it when it changes.
 *
 * What gets applied ("last good"):
 * - A load is applied when every file was read and parsed. Objects that fail
 *   validation in it are dropped (reported in `result.errors`), the rest are
 *   applied: the served config is always exactly the valid part of the files.
 * - A load where any file has a YAML syntax error or cannot be read, or where
 *   PATH is missing, is not applied at all: the previous snapshot keeps
 *   serving, and onError / 'rejected' reports why. Fixing the file reloads.
 * - Identical content (same fingerprint) is never reported twice.
 *
 * How changes are noticed: fs.watch on the directory holding PATH (so
 * rename-replace saves and Kubernetes ConfigMap symlink swaps are seen), on
 * PATH itself when it is a directory, and a poll every `pollMs` that re-reads
 * and hashes the input, which catches anything the watches miss and re-arms
 * them when a watched directory was replaced.
 *
 * Events: 'load' (LoadResult), 'rejected' (InputError, LoadResult | undefined).
 */
export class ConfigWatcher extends EventEmitter {
  readonly path: string;
  /** Resolves once the baseline is known and the watches are armed. */
  readonly ready: Promise<void>;
  readonly #opts: WatchOptions;
  readonly #debounceMs: number;
  #watchers: FSWatcher[] = [];
  /** device:inode of PATH when the watches were armed; a new one means PATH was replaced. */
  #armedFor: string | undefined;
  #poll: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pendingSince = 0;
  #running = false;
  #again = false;
  #closed = false;
  /** Fingerprint (or failure message) of the last input processed, applied or not. */
  #seen: string | undefined;

  constructor(path: string, opts: WatchOptions = {}) {
    super();
    this.path = path;
    this.#opts = opts;
    this.#debounceMs = opts.debounceMs ?? 100;
    if (opts.onLoad) this.on('load', opts.onLoad);
    if (opts.onError) this.on('rejected', opts.onError);
    this.#seen = opts.baseline?.fingerprint;
    this.ready = this.#start();
  }

  async #start(): Promise<void> {
    try {
      const input = await readInput(this.path);
      this.#seen ??= input.fingerprint;
      this.#armedFor = input.rootId;
    } catch (err) {
      this.#seen ??= `error:${(err as Error).message}`;
    }
    if (this.#closed) return;
    if (this.#opts.fsWatch !== false) this.#arm();
    const pollMs = this.#opts.pollMs ?? 1000;
    if (pollMs > 0) {
      this.#poll = setInterval(() => {
        if (this.#watchers.length === 0 && this.#opts.fsWatch !== false) this.#arm();
        this.#schedule();
      }, pollMs);
      this.#poll.unref();
    }
  }

  /** (Re)create the fs watches. Failures are fine: the poll covers them and retries. */
  #arm(): void {
    this.#disarm();
    const abs = resolve(this.path);
    // The parent sees PATH replaced (rename-replace, symlink swap); PATH itself,
    // when a directory, sees its files. Events for unrelated names are cheap:
    // a check that finds the same content hash does nothing.
    for (const target of [dirname(abs), abs]) {
      try {
        const w = watch(target, { persistent: false }, () => this.#schedule());
        w.on('error', () => {
          w.close();
          this.#watchers = this.#watchers.filter((x) => x !== w);
        });
        this.#watchers.push(w);
      } catch {
        // Missing: the poll re-arms once it exists.
      }
    }
  }

  #disarm(): void {
    for (const w of this.#watchers) w.close();
    this.#watchers = [];
  }

  #schedule(): void {
    if (this.#closed) return;
    const now = Date.now();
    if (this.#timer === undefined) this.#pendingSince = now;
    else if (now - this.#pendingSince > this.#debounceMs * 10) return; // constant churn: let the pending check run
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.check();
    }, this.#debounceMs);
    this.#timer.unref();
  }

  /** Re-read PATH now and apply it if it changed. Resolves when done. Concurrent calls coalesce. */
  async check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    try {
      do {
        this.#again = false;
        await this.#checkOnce();
      } while (this.#again && !this.#closed);
    } finally {
      this.#running = false;
    }
  }

  async #checkOnce(): Promise<void> {
    let input;
    try {
      input = await readInput(this.path);
    } catch (err) {
      const e = err instanceof InputError ? err : new InputError(String(err), this.path, { cause: err });
      const key = `error:${e.message}`;
      if (this.#seen !== key && !this.#closed) {
        this.#seen = key;
        this.emit('rejected', e, undefined);
      }
      return;
    }
    if (this.#closed) return;
    if (input.rootId !== this.#armedFor && this.#opts.fsWatch !== false) {
      this.#armedFor = input.rootId;
      this.#arm();
    }
    if (input.fingerprint === this.#seen) return;
    // A file being written in place (truncate, then write) can be read in
    // between, e.g. empty. Only content that reads the same twice, one
    // debounce apart, is applied; otherwise the next change schedules a check.
    await new Promise((resolve) => setTimeout(resolve, this.#debounceMs));
    if (this.#closed) return;
    let settled;
    try {
      settled = await readInput(this.path);
    } catch {
      this.#schedule();
      return;
    }
    if (settled.fingerprint !== input.fingerprint) {
      this.#schedule();
      return;
    }
    this.#seen = input.fingerprint;
    const result = loadFromInput(input, this.#opts);
    if (result.complete) {
      this.emit('load', result);
      return;
    }
    const fatal = result.errors.filter((e) => e instanceof InputError);
    const err = fatal.length === 1
      ? fatal[0]!
      : new InputError(`${fatal.length} files could not be loaded: ${fatal.map((e) => e.message).join('; ')}`, fatal[0]?.file);
    this.emit('rejected', err, result);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#disarm();
  }
}

/** Start watching PATH; see ConfigWatcher for what is applied when. */
export function watchConfig(path: string, opts: WatchOptions = {}): ConfigWatcher {
  return new ConfigWatcher(path, opts);
}
