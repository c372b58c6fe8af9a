// A container's log as a kubelet keeps it: one file per container, every line stamped with the
// time it was written and its stream (the CRI log format: "<RFC3339Nano> <stream> F <line>"),
// and read back with the options of GET /containerLogs (sinceTime, sinceSeconds, tailLines,
// limitBytes, timestamps).
import { EventEmitter } from 'node:events';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

export interface LogReadOptions {
  readonly sinceTime?: Date;
  readonly sinceSeconds?: number;
  readonly tailLines?: number;
  readonly limitBytes?: number;
  readonly timestamps?: boolean;
}

interface LogLine {
  readonly time: string;
  readonly ms: number;
  readonly text: string;
}

/** RFC3339 with nanoseconds, as Go's time.RFC3339Nano prints kubelet log timestamps. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export class ContainerLog extends EventEmitter {
  readonly path: string;
  readonly #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(path: string) {
    super();
    this.path = path;
    writeFileSync(path, '', { flag: 'a' });
  }

  /**
   * Append process output; only complete lines are written (a trailing partial line waits).
   * Returns the complete lines.
   */
  write(stream: 'stdout' | 'stderr', chunk: Buffer | string): string[] {
    const text = this.#partial[stream] + chunk.toString();
    const lines = text.split('\n');
    this.#partial[stream] = lines.pop() ?? '';
    if (lines.length > 0) this.#append(stream, lines);
    return lines;
  }

  /** Flush partial lines (the process ended). */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream]) this.#append(stream, [this.#partial[stream]]);
      this.#partial[stream] = '';
    }
  }

  /** A line written by the kubelet itself (e.g. why a container could not start). */
  note(text: string): void {
    this.#append('stderr', [text]);
  }

  #append(stream: string, lines: readonly string[]): void {
    const now = stamp(Date.now());
    appendFileSync(this.path, lines.map((l) => `${now} ${stream} F ${l}\n`).join(''));
    this.emit('lines');
  }

  #lines(): LogLine[] {
    const out: LogLine[] = [];
    for (const raw of readFileSync(this.path, 'utf8').split('\n')) {
      if (!raw) continue;
      const sp1 = raw.indexOf(' ');
      const sp2 = raw.indexOf(' ', sp1 + 1);
      const sp3 = raw.indexOf(' ', sp2 + 1);
      if (sp1 < 0 || sp2 < 0 || sp3 < 0) continue;
      const time = raw.slice(0, sp1);
      out.push({ time, ms: Date.parse(time), text: raw.slice(sp3 + 1) });
    }
    return out;
  }

  /** The log as GET /containerLogs returns it. */
  read(opts: LogReadOptions = {}): string {
    let lines = this.#lines();
    const since = opts.sinceTime?.getTime() ?? (opts.sinceSeconds !== undefined ? Date.now() - opts.sinceSeconds * 1000 : undefined);
    if (since !== undefined) lines = lines.filter((l) => l.ms >= since);
    if (opts.tailLines !== undefined && opts.tailLines >= 0) lines = lines.slice(Math.max(0, lines.length - opts.tailLines));
    let out = lines.map((l) => (opts.timestamps ? `${l.time} ${l.text}\n` : `${l.text}\n`)).join('');
    if (opts.limitBytes !== undefined && opts.limitBytes >= 0) out = Buffer.from(out).subarray(0, opts.limitBytes).toString();
    return out;
  }
}
