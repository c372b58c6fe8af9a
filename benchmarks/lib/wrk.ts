/**
 * Driving a target with wrk (closed loop, keep-alive) and reading its numbers back.
 * A small Lua `done` hook prints the summary as one JSON line, so percentiles come with
 * microsecond precision instead of wrk's rounded text; the text output is kept as the raw log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcessSet } from './procs.ts';

export interface WrkOptions {
  readonly url: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly connections: number;
  readonly threads: number;
  readonly durationS: number;
  readonly cpus?: string;
  /** Raw wrk output goes here. */
  readonly outFile: string;
  /** Directory holding the Lua reporter (written once per run). */
  readonly runDir: string;
  readonly label: string;
}

export interface WrkResult {
  readonly command: string;
  readonly requests: number;
  readonly durationS: number;
  readonly rps: number;
  readonly bytes: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Responses outside 2xx/3xx. */
  readonly non2xx: number;
  readonly socketErrors: { connect: number; read: number; write: number; timeout: number };
}

const REPORTER = `-- Written by benchmarks/lib/wrk.ts: print the summary as one JSON line.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean_us":%.2f,"max_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
`;

export function reporterPath(runDir: string): string {
  return `${runDir}/wrk-report.lua`;
}

export function writeReporter(runDir: string): void {
  writeFileSync(reporterPath(runDir), REPORTER);
}

interface WrkJson {
  requests: number;
  duration_us: number;
  bytes: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  mean_us: number;
  max_us: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
}

export async function runWrk(procs: ProcessSet, o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads}`,
    `-c${o.connections}`,
    `-d${o.durationS}s`,
    '--latency',
    '-s',
    reporterPath(o.runDir),
    ...o.headers.flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    o.url,
  ];
  const command = [...(o.cpus === undefined ? [] : ['taskset', '-c', o.cpus]), 'wrk', ...args]
    .map((a) => (/[\s"']/.test(a) ? `'${a}'` : a))
    .join(' ');
  writeFileSync(o.outFile, `$ ${command}\n`);
  const proc = procs.start({ name: `wrk-${o.label}`, command: 'wrk', args, cpus: o.cpus, stdout: o.outFile });
  const limitMs = (o.durationS + 20) * 1000;
  const code = await Promise.race([proc.exited, sleep(limitMs).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    await procs.stop(proc, 500);
    throw new Error(`wrk against ${o.label} did not finish within ${limitMs / 1000}s`);
  }
  const text = readFileSync(o.outFile, 'utf8');
  if (code !== 0) throw new Error(`wrk against ${o.label} exited with ${code}: ${text.slice(-500)} (see ${proc.logFile})`);
  const line = text.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (line === undefined) throw new Error(`wrk against ${o.label} printed no summary (see ${o.outFile})`);
  const j = JSON.parse(line.slice('WRK_JSON '.length)) as WrkJson;
  const durationS = j.duration_us / 1e6;
  return {
    command,
    requests: j.requests,
    durationS,
    rps: durationS > 0 ? j.requests / durationS : 0,
    bytes: j.bytes,
    p50Ms: j.p50_us / 1000,
    p90Ms: j.p90_us / 1000,
    p99Ms: j.p99_us / 1000,
    p999Ms: j.p999_us / 1000,
    maxMs: j.max_us / 1000,
    meanMs: j.mean_us / 1000,
    non2xx: j.status,
    socketErrors: { connect: j.connect, read: j.read, write: j.write, timeout: j.timeout },
  };
}
