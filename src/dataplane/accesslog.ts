import type { AccessLogEntry, AccessLogSink } from './types.js';

let lastMs = 0;
let lastIso = '';

/** ISO time for a millisecond timestamp, reusing the string within the same millisecond. */
export function isoTime(ms: number): string {
  const whole = Math.floor(ms);
  if (whole !== lastMs) {
    lastMs = whole;
    lastIso = new Date(whole).toISOString();
  }
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
