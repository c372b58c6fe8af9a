/**
 * The L4 benchmark's numbers: per-run records -> per-target medians, same-repeat ratios
 * against the goals of issue 5, and the Markdown tables printed and recorded in RESULTS.md.
 * Pure functions (tested in test/benchmarks/l4-report.test.ts).
 */
import { median } from '../lib/report.ts';

export type Kind = 'oneway' | 'echo' | 'rate';

/** One measured client run against one target. */
export interface L4Run {
  readonly repeat: number;
  readonly target: string;
  readonly kind: Kind;
  readonly ok: boolean;
  readonly error: string;
  /** oneway/echo: bytes the client sent (= bytes it got back for echo); rate: payload bytes both ways. */
  readonly bytes: number;
  readonly seconds: number;
  /** utime + stime of the proxy's process group over the run (/proc/PID/stat), undefined for direct. */
  readonly proxyCpuS?: number;
  readonly clientCpuS: number;
  readonly backendCpuS: number;
  /** Kernel threads (kworkers carry the spliced sends). */
  readonly kthreadCpuS: number;
  /** softirq time of all CPUs. */
  readonly softirqS: number;
  /** proxy + client + backend + kernel threads + softirq: what the transfer cost (benchmarks/l4/cpu.ts). */
  readonly totalCpuS: number;
  /** Busy CPU-seconds of the whole machine, other work included. */
  readonly systemCpuS: number;
  /** rate only. */
  readonly count?: number;
  readonly failed?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** Sluice only: bytes the kernel spliced during the run (sluice_splice_bytes_total, both directions). */
  readonly kernelBytes?: number;
  readonly command: string;
}

/** CPU time is counted in ticks of 10 ms: a run that used less is counted as one tick (an upper bound). */
export const CPU_TICK_S = 0.01;

/** Bytes that crossed the proxy: one-way counts once, echo both directions. */
export function bytesThroughProxy(r: L4Run): number {
  return r.kind === 'echo' ? 2 * r.bytes : r.bytes;
}

export function throughput(r: L4Run): number {
  return r.seconds > 0 ? r.bytes / r.seconds : 0;
}

export function connRate(r: L4Run): number {
  return r.seconds > 0 ? ((r.count ?? 0) - (r.failed ?? 0)) / r.seconds : 0;
}

export function bytesPerCpu(r: L4Run): number | undefined {
  if (r.proxyCpuS === undefined) return undefined;
  return bytesThroughProxy(r) / Math.max(r.proxyCpuS, CPU_TICK_S);
}

/** Successful connections per proxy CPU-second (rate runs). */
export function connsPerCpu(r: L4Run): number | undefined {
  if (r.proxyCpuS === undefined) return undefined;
  return ((r.count ?? 0) - (r.failed ?? 0)) / Math.max(r.proxyCpuS, CPU_TICK_S);
}

export interface KindSummary {
  readonly runs: number;
  /** Bytes per second (oneway/echo: per direction) or connections per second (rate). */
  readonly rate: number;
  readonly min: number;
  readonly max: number;
  readonly proxyCpuS?: number;
  /** oneway/echo: bytes through the proxy per proxy CPU-s; rate: connections per proxy CPU-s. */
  readonly perCpuS?: number;
  readonly totalCpuS: number;
  readonly softirqS: number;
  /** Median over repeats of totalCpuS minus direct's in the same repeat: what adding the proxy cost, kernel included. */
  readonly addedCpuS?: number;
  /** Bytes through the proxy per added CPU-s (oneway/echo). */
  readonly perAddedCpuS?: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
}

export interface L4Summary {
  readonly target: string;
  readonly kinds: Partial<Record<Kind, KindSummary>>;
}

const valueOf = (r: L4Run): number => (r.kind === 'rate' ? connRate(r) : throughput(r));

/** totalCpuS of `r` minus that of the reference target's run of the same kind and repeat. */
export function addedCpu(runs: readonly L4Run[], r: L4Run, reference = 'direct'): number | undefined {
  if (r.target === reference) return undefined;
  const ref = runs.find((x) => x.target === reference && x.kind === r.kind && x.repeat === r.repeat && x.ok);
  return ref === undefined ? undefined : r.totalCpuS - ref.totalCpuS;
}

/** Bytes through the proxy per CPU-s it added over direct (at least one tick). */
export function bytesPerAddedCpu(runs: readonly L4Run[], r: L4Run): number | undefined {
  const added = addedCpu(runs, r);
  return added === undefined ? undefined : bytesThroughProxy(r) / Math.max(added, CPU_TICK_S);
}

export function summarizeL4(runs: readonly L4Run[], targets: readonly string[]): L4Summary[] {
  return targets.map((target) => {
    const kinds: Partial<Record<Kind, KindSummary>> = {};
    for (const kind of ['oneway', 'echo', 'rate'] as const) {
      const mine = runs.filter((r) => r.target === target && r.kind === kind && r.ok);
      if (mine.length === 0) continue;
      const values = mine.map(valueOf);
      const cpus = mine.map((r) => r.proxyCpuS).filter((x): x is number => x !== undefined);
      const perCpu = mine.map(kind === 'rate' ? connsPerCpu : bytesPerCpu).filter((x): x is number => x !== undefined);
      const added = mine.map((r) => addedCpu(runs, r)).filter((x): x is number => x !== undefined);
      const perAdded = kind === 'rate' ? [] : mine.map((r) => bytesPerAddedCpu(runs, r)).filter((x): x is number => x !== undefined);
      kinds[kind] = {
        runs: mine.length,
        rate: median(values),
        min: Math.min(...values),
        max: Math.max(...values),
        proxyCpuS: cpus.length > 0 ? median(cpus) : undefined,
        perCpuS: perCpu.length > 0 ? median(perCpu) : undefined,
        totalCpuS: median(mine.map((r) => r.totalCpuS)),
        softirqS: median(mine.map((r) => r.softirqS)),
        addedCpuS: added.length > 0 ? median(added) : undefined,
        perAddedCpuS: perAdded.length > 0 ? median(perAdded) : undefined,
        p50Ms: kind === 'rate' ? median(mine.map((r) => r.p50Ms ?? 0)) : undefined,
        p99Ms: kind === 'rate' ? median(mine.map((r) => r.p99Ms ?? 0)) : undefined,
      };
    }
    return { target, kinds };
  });
}

/** Median over repeats of f(a's run) / f(b's run) in the same repeat (cancels host drift). */
export function sameRepeatRatio(runs: readonly L4Run[], kind: Kind, a: string, b: string, f: (r: L4Run) => number | undefined): number | undefined {
  const ratios: number[] = [];
  for (const ra of runs) {
    if (ra.target !== a || ra.kind !== kind || !ra.ok) continue;
    const rb = runs.find((x) => x.target === b && x.kind === kind && x.repeat === ra.repeat && x.ok);
    if (rb === undefined) continue;
    const va = f(ra);
    const vb = f(rb);
    if (va !== undefined && vb !== undefined && vb > 0) ratios.push(va / vb);
  }
  return ratios.length > 0 ? median(ratios) : undefined;
}

export interface L4Goal {
  readonly label: string;
  readonly value: number | undefined;
  /** 'min': value must be >= goal; 'max': value must be < goal. */
  readonly sense: 'min' | 'max';
  readonly goal: number;
  readonly met: boolean | undefined;
}

const proxyCpu = (r: L4Run): number | undefined => (r.proxyCpuS === undefined ? undefined : Math.max(r.proxyCpuS, CPU_TICK_S));

/** The ratios issue 5 sets targets for, on both transfer kinds. */
export function l4Goals(runs: readonly L4Run[], splice = 'sluice-splice', pipe = 'sluice-pipe', haproxy = 'haproxy'): L4Goal[] {
  const goal = (label: string, value: number | undefined, sense: 'min' | 'max', g: number): L4Goal => ({
    label, value, sense, goal: g, met: value === undefined ? undefined : sense === 'min' ? value >= g : value < g,
  });
  const out: L4Goal[] = [];
  for (const kind of ['oneway', 'echo'] as const) {
    out.push(goal(`${kind}: Sluice splice / pipe throughput`, sameRepeatRatio(runs, kind, splice, pipe, throughput), 'min', 2));
  }
  for (const kind of ['oneway', 'echo'] as const) {
    out.push(goal(`${kind}: Sluice splice CPU / pipe CPU (proxy process)`, sameRepeatRatio(runs, kind, splice, pipe, proxyCpu), 'max', 0.1));
  }
  for (const kind of ['oneway', 'echo'] as const) {
    out.push(goal(`${kind}: Sluice splice bytes per CPU-s / HAProxy's (proxy process)`, sameRepeatRatio(runs, kind, splice, haproxy, bytesPerCpu), 'min', 1));
  }
  return out;
}

/** Extra context next to the goals: the total CPU of a transfer, where the kernel's share of the work shows. */
export function systemCpuLines(runs: readonly L4Run[], splice = 'sluice-splice', pipe = 'sluice-pipe', haproxy = 'haproxy'): string[] {
  const total = (r: L4Run): number => r.totalCpuS;
  const lines: string[] = [];
  for (const kind of ['oneway', 'echo'] as const) {
    const vsPipe = sameRepeatRatio(runs, kind, splice, pipe, total);
    const vsHaproxy = sameRepeatRatio(runs, kind, splice, haproxy, total);
    lines.push(`- ${kind}: all CPU of the transfer (proxy + client + backend + kernel threads + softirq), Sluice splice / pipe: ${fmt(vsPipe, 2)}; Sluice splice / HAProxy: ${fmt(vsHaproxy, 2)}`);
    const perAdded = (r: L4Run): number | undefined => bytesPerAddedCpu(runs, r);
    const addedVsPipe = sameRepeatRatio(runs, kind, splice, pipe, (r) => addedCpu(runs, r));
    lines.push(`- ${kind}: CPU added over direct (kernel included), Sluice splice / pipe: ${fmt(addedVsPipe, 2)}; bytes per added CPU-s, Sluice splice / HAProxy: ${fmt(sameRepeatRatio(runs, kind, splice, haproxy, perAdded), 2)}`);
  }
  return lines;
}

export function goalLines(goals: readonly L4Goal[]): string {
  return goals
    .map((g) => {
      const target = `${g.sense === 'min' ? '≥' : '<'} ${g.goal}`;
      const verdict = g.met === undefined ? 'not measured' : g.met ? 'met' : 'NOT met';
      return `- ${g.label}: ${fmt(g.value, 3)} (target ${target}: ${verdict})`;
    })
    .join('\n');
}

export function fmt(x: number | undefined, digits: number): string {
  if (x === undefined || Number.isNaN(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

const GIB = 2 ** 30;

/** Two Markdown tables: transfers (one-way and echo) and the connection rate. */
export function l4Tables(summaries: readonly L4Summary[], repeats: number): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  const range = (k: KindSummary, scale: number, digits: number): string =>
    repeats > 1 ? `${fmt(k.min / scale, digits)}–${fmt(k.max / scale, digits)}` : '';
  const head = ['target', 'transfer', 'GiB/s (median)'];
  if (repeats > 1) head.push('min–max');
  head.push('proxy CPU s', 'GiB per proxy CPU-s', 'all CPU s', 'of which softirq s', 'added over direct s', 'GiB per added CPU-s');
  const rows: string[][] = [];
  for (const s of summaries) {
    for (const kind of ['oneway', 'echo'] as const) {
      const k = s.kinds[kind];
      if (k === undefined) continue;
      const row = [s.target, kind === 'oneway' ? 'one-way' : 'echo', fmt(k.rate / GIB, 2)];
      if (repeats > 1) row.push(range(k, GIB, 2));
      row.push(fmt(k.proxyCpuS, 2), fmt(k.perCpuS === undefined ? undefined : k.perCpuS / GIB, 2), fmt(k.totalCpuS, 2), fmt(k.softirqS, 2), fmt(k.addedCpuS, 2), fmt(k.perAddedCpuS === undefined ? undefined : k.perAddedCpuS / GIB, 2));
      rows.push(row);
    }
  }
  const transfer = [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');

  const rhead = ['target', 'connections/s (median)'];
  if (repeats > 1) rhead.push('min–max');
  rhead.push('p50 ms', 'p99 ms', 'proxy CPU s', 'connections per proxy CPU-s');
  const rrows: string[][] = [];
  for (const s of summaries) {
    const k = s.kinds.rate;
    if (k === undefined) continue;
    const row = [s.target, fmt(k.rate, 0)];
    if (repeats > 1) row.push(range(k, 1, 0));
    row.push(fmt(k.p50Ms, 2), fmt(k.p99Ms, 2), fmt(k.proxyCpuS, 2), fmt(k.perCpuS, 0));
    rrows.push(row);
  }
  const rate = [line(rhead), line(rhead.map(() => '---')), ...rrows.map(line)].join('\n');
  return `${transfer}\n\n${rate}`;
}
