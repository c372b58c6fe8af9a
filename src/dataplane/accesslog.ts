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

/**
 * The default access log: one JSON line per request on stdout, written in
 * batches once per event-loop turn so a busy proxy makes one write() per
 * turn instead of one per request.
 */
export class StdoutAccessLog {
  #buffer: string[] = [];
  #scheduled = false;
  readonly #flush = (): void => this.flush();

  readonly sink: AccessLogSink = (entry: AccessLogEntry): void => {
    this.#buffer.push(JSON.stringify(entry));
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  };

  flush(): void {
    this.#scheduled = false;
    if (this.#buffer.length === 0) return;
    const text = `${this.#buffer.join('\n')}\n`;
    this.#buffer = [];
    process.stdout.write(text);
  }
}
