import fs from 'node:fs';
import type { AccessLogEntry, AccessLogSink } from './types.js';

let lastMs = -1;
let lastIso = '';
let lastSecond = -1;
/** "2026-01-02T03:04:05." for lastSecond. */
let secondPrefix = '';
const MS_TEXT: readonly string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** ISO time for a millisecond timestamp: one Date per second, one string per millisecond. */
export function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  if (whole === lastMs) return lastIso;
  const second = Math.floor(whole / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  lastMs = whole;
  lastIso = `${secondPrefix}${MS_TEXT[whole - second * 1000]}Z`;
  return lastIso;
}

/** ".5", ".25", ".125" ... for 0..999 thousandths ("" for 0): a decimal fraction without trailing zeros. */
const FRACTION: readonly string[] = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '' : `.${String(i).padStart(3, '0').replace(/0+$/, '')}`));

/**
 * Integer microseconds as milliseconds, e.g. 1500 -> "1.5": the text of
 * String(us / 1000) (what JSON.stringify writes) without formatting a double,
 * which costs more than the rest of the line.
 */
export function microsAsMillis(us: number): string {
  const whole = Math.floor(us / 1000);
  return `${whole}${FRACTION[us - whole * 1000]}`;
}

/** Characters JSON.stringify escapes in a string: quote, backslash, controls, lone surrogates. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal, without JSON.stringify for the common case of nothing to escape. */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

const constCache = new Map<string, string>();
const CONST_CACHE_MAX = 4096;

/**
 * jsonString for values from a small set that repeat on every line (listener
 * and route names, upstream labels, reasons): a map hit on a string whose
 * hash is already computed costs less than the escape check.
 */
export function jsonConst(s: string): string {
  let json = constCache.get(s);
  if (json === undefined) {
    json = jsonString(s);
    if (constCache.size >= CONST_CACHE_MAX) constCache.clear();
    constCache.set(s, json);
  }
  return json;
}

/**
 * One access log line (JSON, no newline) from its HTTP fields: the same text
 * as JSON.stringify of an AccessLogEntry with these fields in this order, but
 * built by concatenation with constant keys and no intermediate object.
 * `duration` is the JSON number text (microsAsMillis).
 */
export function formatHttpLine(
  time: string, listener: string, route: string, method: string, host: string, path: string,
  status: number, bytes: number, duration: string, upstream: string, reason: string, upstreamError: string,
): string {
  return `{"time":"${time}","listener":${jsonConst(listener)},"route":${jsonConst(route)},"method":${jsonConst(method)},"host":${jsonString(host)},"path":${jsonString(path)},"status":${status},"bytes":${bytes},"duration_ms":${duration},"upstream":${jsonConst(upstream)},"reason":${jsonConst(reason)},"upstream_error":${jsonConst(upstreamError)}}`;
}

/** Any entry (HTTP or L4) as one JSON line without newline; L4-only fields are appended when set. */
export function formatEntry(e: AccessLogEntry): string {
  const base = formatHttpLine(e.time, e.listener, e.route, e.method, e.host, e.path, e.status, e.bytes, String(e.duration_ms), e.upstream, e.reason, e.upstream_error);
  if (e.protocol === undefined && e.bytes_received === undefined && e.relay === undefined) return base;
  let extra = '';
  if (e.protocol !== undefined) extra += `,"protocol":${jsonString(e.protocol)}`;
  if (e.bytes_received !== undefined) extra += `,"bytes_received":${e.bytes_received}`;
  if (e.relay !== undefined) extra += `,"relay":${jsonString(e.relay)}`;
  return `${base.slice(0, -1)}${extra}}`;
}

/** Where the built-in access log goes: `stdout`, a file path (appended to), or nowhere (`off`). */
export type AccessLogDestination = 'stdout' | 'off' | { readonly path: string };

/** Parse the `--access-log` value: off | stdout | PATH. */
export function parseAccessLogDestination(value: string): AccessLogDestination {
  if (value === 'off' || value === 'stdout') return value;
  if (value === '') throw new Error('access log destination is empty (use off, stdout or a file path)');
  return { path: value };
}

export interface AccessLogWriterOptions {
  /** Write as soon as this many characters are buffered (default 64 KiB). */
  readonly flushBytes?: number;
  /** Otherwise write at most this long after the first buffered line (default 100 ms). */
  readonly flushMs?: number;
  /** Lines are dropped (and counted) while this many characters wait for a slow destination (default 16 MiB). */
  readonly maxPendingBytes?: number;
}

const EAGAIN_RETRY_MS = 10;
/** Lines are encoded into buffers of this size (a longer line gets its own). */
const CHUNK_BYTES = 64 * 1024;

/**
 * The built-in access log: one JSON line per request, encoded straight into
 * a reusable byte buffer (no growing string to flatten and re-encode per
 * batch) and written with asynchronous fs.write calls (libuv's thread pool),
 * one write in flight at a time, so the event loop never waits on the
 * destination (process.stdout.write is synchronous for files and pipes on
 * Linux). A batch goes out when it reaches flushBytes or flushMs after its
 * first line; a destination that cannot keep up makes lines be dropped
 * beyond maxPendingBytes instead of growing memory without bound. flushSync()
 * writes what is left at shutdown.
 */
export class AccessLogWriter {
  readonly #fd: number;
  readonly #ownsFd: boolean;
  readonly #flushBytes: number;
  readonly #flushMs: number;
  readonly #maxPending: number;
  /** The buffer lines are encoded into; bytes from #start to #end are not sealed into #sealed yet. */
  #current = Buffer.allocUnsafeSlow(CHUNK_BYTES);
  #start = 0;
  #end = 0;
  /** Encoded lines waiting for the next write, in order. */
  #sealed: Buffer[] = [];
  /** Bytes logged and not yet handed to fs.write. */
  #pending = 0;
  /** Bytes handed to fs.write and not yet confirmed. */
  #inFlight: Buffer | null = null;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Resolved when the write in flight comes back (close() waits for it to keep lines in order). */
  #idleWaiters: (() => void)[] = [];
  /** Lines dropped because the destination was too slow or failed. */
  dropped = 0;
  /** The last write error, if any (EPIPE, ENOSPC...); logging continues to try. */
  lastError: NodeJS.ErrnoException | undefined;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#write();
  };
  readonly #onWritten = (err: NodeJS.ErrnoException | null, written: number): void => this.#written(err, written);

  constructor(fd: number, ownsFd: boolean, opts: AccessLogWriterOptions = {}) {
    this.#fd = fd;
    this.#ownsFd = ownsFd;
    this.#flushBytes = opts.flushBytes ?? 65_536;
    this.#flushMs = opts.flushMs ?? 100;
    this.#maxPending = opts.maxPendingBytes ?? 16 * 1024 * 1024;
  }

  /** Open a destination: stdout (fd 1) or a file opened for appending. Undefined for 'off'. */
  static open(dest: AccessLogDestination, opts?: AccessLogWriterOptions): AccessLogWriter | undefined {
    if (dest === 'off') return undefined;
    if (dest === 'stdout') return new AccessLogWriter(1, false, opts);
    return new AccessLogWriter(fs.openSync(dest.path, 'a'), true, opts);
  }

  /** A sink for entries given as objects (L4 connections, custom callers). */
  readonly sink: AccessLogSink = (entry: AccessLogEntry): void => {
    this.line(formatEntry(entry));
  };

  /** Append one line (without its newline). */
  line(text: string): void {
    if (this.#closed) return;
    if (this.#pending > this.#maxPending) {
      this.dropped++;
      return;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 unit, plus the newline.
    const room = text.length * 3 + 1;
    if (this.#end + room > this.#current.length) {
      this.#seal();
      this.#current = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, room));
      this.#start = 0;
      this.#end = 0;
    }
    const n = this.#current.write(text, this.#end, 'utf8');
    this.#current[this.#end + n] = 10;
    this.#end += n + 1;
    this.#pending += n + 1;
    if (this.#inFlight !== null) return;
    if (this.#pending >= this.#flushBytes) {
      this.#write();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(this.#onTimer, this.#flushMs);
    }
  }

  #write(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#inFlight !== null || this.#pending === 0) return;
    const data = this.#take();
    this.#inFlight = data;
    fs.write(this.#fd, data, 0, data.length, null, this.#onWritten);
  }

  #written(err: NodeJS.ErrnoException | null, written: number): void {
    const data = this.#inFlight;
    if (data === null) return;
    if (err !== null) {
      if (err.code === 'EAGAIN') {
        // A non-blocking pipe is full: try the same bytes again shortly.
        setTimeout(() => this.#retry(), EAGAIN_RETRY_MS);
        return;
      }
      this.lastError = err;
      this.#inFlight = null;
      this.dropped++;
      this.#next();
      return;
    }
    if (written < data.length) {
      const rest = data.subarray(written);
      this.#inFlight = rest;
      fs.write(this.#fd, rest, 0, rest.length, null, this.#onWritten);
      return;
    }
    this.#inFlight = null;
    this.#next();
  }

  #retry(): void {
    const data = this.#inFlight;
    if (data === null) return;
    fs.write(this.#fd, data, 0, data.length, null, this.#onWritten);
  }

  /** After a write: the next batch right away when it is big, else on the timer. */
  #next(): void {
    if (this.#idleWaiters.length !== 0) {
      for (const w of this.#idleWaiters.splice(0)) w();
      return;
    }
    if (this.#pending === 0) return;
    if (this.#pending >= this.#flushBytes || this.#closed) this.#write();
    else if (this.#timer === undefined) this.#timer = setTimeout(this.#onTimer, this.#flushMs);
  }

  /**
   * Write what is buffered now, blocking (shutdown). Lines stay in order only
   * when no write is in flight; close() waits for that first.
   */
  flushSync(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#pending === 0) return;
    const data = this.#take();
    let off = 0;
    // Bounded: a destination that stays full for ~1 s loses the rest rather than hanging shutdown.
    for (let tries = 0; off < data.length && tries < 100; ) {
      try {
        off += fs.writeSync(this.#fd, data, off, data.length - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
          this.lastError = err as NodeJS.ErrnoException;
          return;
        }
        tries++;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, EAGAIN_RETRY_MS);
      }
    }
  }

  /** The bytes encoded since the last seal become a batch entry (the buffer keeps filling after them). */
  #seal(): void {
    if (this.#end === this.#start) return;
    this.#sealed.push(this.#current.subarray(this.#start, this.#end));
    this.#start = this.#end;
  }

  /** Everything logged and not yet written, as one buffer. */
  #take(): Buffer {
    this.#seal();
    const parts = this.#sealed;
    this.#sealed = [];
    this.#pending = 0;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Write everything buffered so far (after the write in flight, keeping the order); logging goes on. */
  async flush(): Promise<void> {
    if (this.#inFlight !== null) {
      // Bounded wait: a stuck destination must not hang a drain.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2_000);
        this.#idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    this.flushSync();
  }

  /** Flush and stop; a file destination is closed. Lines logged afterwards are dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    if (this.#ownsFd && this.#inFlight === null) fs.closeSync(this.#fd);
  }
}
