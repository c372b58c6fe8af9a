/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self
 * time, the most total (inclusive) time, and self time grouped by area (Sluice data plane,
 * undici, node:http internals, GC, ...).
 *
 *   node benchmarks/tools/cpuprofile-top.ts FILE.cpuprofile [N] [START_US-END_US ...]
 *   node benchmarks/tools/cpuprofile-top.ts FILE.cpuprofile --callers NAME [DEPTH] [START_US-END_US ...]
 *
 * Windows (CLOCK_MONOTONIC microseconds, as recorded in the bench JSON under
 * records[].windowUs) restrict the summary to the measured runs, leaving out start-up.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionCost {
  readonly name: string;
  readonly location: string;
  readonly area: string;
  readonly selfMs: number;
  readonly totalMs: number;
}

export interface ProfileSummary {
  readonly durationMs: number;
  readonly sampledMs: number;
  readonly functions: FunctionCost[];
  readonly areas: { area: string; selfMs: number }[];
}

/** Which part of the system a frame belongs to. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native (${functionName || 'anonymous'})`;
  }
  const m = /\/(?:dist|src)\/([^/]+)\//.exec(url);
  if (m !== null && !url.includes('node_modules')) return `sluice ${m[1]}`;
  const mod = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (mod !== null) return mod[1];
  if (url.startsWith('node:internal/http') || url.startsWith('node:_http') || url.startsWith('node:http')) return 'node:http';
  if (url.startsWith('node:internal/streams') || url.startsWith('node:stream')) return 'node:streams';
  if (url.startsWith('node:net') || url.startsWith('node:internal/net') || url.startsWith('node:internal/stream_base')) return 'node:net';
  if (url.startsWith('node:')) return 'node:other';
  return url;
}

function shortUrl(url: string): string {
  const i = url.search(/\/(dist|src|node_modules)\//);
  return i >= 0 ? url.slice(i + 1) : url.replace(/^file:\/\//, '');
}

/** A [start, end] interval in microseconds of CLOCK_MONOTONIC (process.hrtime and V8 share it on Linux). */
export type Window = readonly [number, number];

/** Summarise the samples inside `windows` (all samples when there are none). */
export function summarizeProfile(profile: CpuProfile, windows: readonly Window[] = []): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = (f: CallFrame): string => `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  let sampledUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (windows.length > 0 && !windows.some(([a, b]) => at >= a && at <= b)) continue;
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    sampledUs += dt;
    let id: number | undefined = profile.samples[i];
    const node = byId.get(id);
    if (node === undefined) continue;
    const k = keyOf(node.callFrame);
    frames.set(k, node.callFrame);
    self.set(k, (self.get(k) ?? 0) + dt);
    const seen = new Set<string>();
    while (id !== undefined) {
      const n = byId.get(id);
      if (n === undefined) break;
      const key = keyOf(n.callFrame);
      if (!seen.has(key)) {
        seen.add(key);
        frames.set(key, n.callFrame);
        total.set(key, (total.get(key) ?? 0) + dt);
      }
      id = parent.get(id);
    }
  }
  const functions: FunctionCost[] = [...frames.entries()].map(([k, f]) => ({
    name: f.functionName || '(anonymous)',
    location: f.url === '' ? '' : `${shortUrl(f.url)}:${f.lineNumber + 1}`,
    area: areaOf(f),
    selfMs: (self.get(k) ?? 0) / 1000,
    totalMs: (total.get(k) ?? 0) / 1000,
  }));
  const areas = new Map<string, number>();
  for (const f of functions) areas.set(f.area, (areas.get(f.area) ?? 0) + f.selfMs);
  return {
    durationMs: (profile.endTime - profile.startTime) / 1000,
    sampledMs: sampledUs / 1000,
    functions,
    areas: [...areas.entries()].map(([area, selfMs]) => ({ area, selfMs })).sort((a, b) => b.selfMs - a.selfMs),
  };
}

/**
 * Who calls `name` (self time of `name` attributed to each distinct caller chain of `depth`
 * frames), to find out where a native hot spot (writev, fstat, ...) comes from.
 */
export function callersOf(profile: CpuProfile, name: string, depth = 3, windows: readonly Window[] = []): { chain: string; ms: number }[] {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const chains = new Map<string, number>();
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (windows.length > 0 && !windows.some(([a, b]) => at >= a && at <= b)) continue;
    const node = byId.get(profile.samples[i]);
    if (node === undefined || node.callFrame.functionName !== name) continue;
    const parts: string[] = [];
    let id = parent.get(node.id);
    while (id !== undefined && parts.length < depth) {
      const f = byId.get(id)!.callFrame;
      parts.push(`${f.functionName || '(anonymous)'} ${f.url === '' ? '' : `${shortUrl(f.url)}:${f.lineNumber + 1}`}`.trim());
      id = parent.get(id);
    }
    const key = parts.join(' < ');
    chains.set(key, (chains.get(key) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000);
  }
  return [...chains.entries()].map(([chain, ms]) => ({ chain, ms })).sort((a, b) => b.ms - a.ms);
}

export function topFunctions(file: string, n: number, windows: readonly Window[] = []): { summary: ProfileSummary; n: number } {
  return { summary: summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, windows), n };
}

export function formatTop({ summary, n }: { summary: ProfileSummary; n: number }): string {
  // Percentages are of the busy (non-idle) time, which is what the proxy spent on requests.
  const idle = summary.areas.find((a) => a.area === 'idle')?.selfMs ?? 0;
  const busy = summary.sampledMs - idle;
  const pct = (ms: number): string => `${((100 * ms) / busy).toFixed(1).padStart(5)}%`;
  const lines: string[] = [];
  lines.push(`profile ${summary.durationMs.toFixed(0)} ms; samples kept ${summary.sampledMs.toFixed(0)} ms, of which busy ${busy.toFixed(0)} ms (idle ${idle.toFixed(0)} ms); % of busy time`);
  lines.push('', 'Self time by area:');
  for (const a of summary.areas.filter((x) => x.area !== 'idle').slice(0, 15)) lines.push(`  ${pct(a.selfMs)}  ${a.area}`);
  const row = (f: FunctionCost, ms: number): string => `  ${pct(ms)}  ${f.name}  ${f.location}  [${f.area}]`;
  lines.push('', `Top ${n} functions by self time:`);
  for (const f of [...summary.functions].filter((x) => x.area !== 'idle').sort((a, b) => b.selfMs - a.selfMs).slice(0, n)) {
    lines.push(row(f, f.selfMs));
  }
  lines.push('', `Top ${n} functions by total time (self + callees):`);
  const skip = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);
  for (const f of [...summary.functions].filter((x) => !skip.has(x.name)).sort((a, b) => b.totalMs - a.totalMs).slice(0, n)) {
    lines.push(row(f, f.totalMs));
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.on('error', () => process.exit(0));
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node benchmarks/tools/cpuprofile-top.ts FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  const parseWindows = (args: string[]): Window[] => args.map((w) => w.split('-').map(Number) as unknown as Window);
  if (process.argv[3] === '--callers') {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const rows = callersOf(profile, process.argv[4] ?? '', Number(process.argv[5] ?? 3), parseWindows(process.argv.slice(6)));
    for (const r of rows.slice(0, 20)) process.stdout.write(`${r.ms.toFixed(1).padStart(8)} ms  ${r.chain}\n`);
  } else {
    process.stdout.write(`${formatTop(topFunctions(file, Number(process.argv[3] ?? 30), parseWindows(process.argv.slice(4))))}\n`);
  }
}
