/**
 * Turning per-run records into the summary: medians across rounds, same-round ratios
 * (which cancel host drift, as the anchors doc recommends), a Markdown table for the
 * terminal and RESULTS.md, and the goals check (reported, never asserted).
 */
import type { Column, Metrics, Ratio } from '../scenarios/types.ts';

export interface RunRecord {
  readonly round: number;
  readonly target: string;
  readonly startedAt: string;
  readonly loadAvg: readonly number[];
  readonly metrics: Metrics;
  /** Busy fraction per CPU during the measured run. */
  readonly cpuBusy: readonly number[];
  /** CPU seconds per wall second charged to the target's own processes (undefined for direct). */
  readonly targetCpu?: number;
  readonly command: string;
  readonly rawFile: string;
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
  readonly error?: string;
  /** The measured window in CLOCK_MONOTONIC microseconds (to cut CPU profiles to it). */
  readonly windowUs?: readonly [number, number];
}

export interface TargetSummary {
  readonly target: string;
  readonly runs: number;
  readonly median: Metrics;
  readonly min: number;
  readonly max: number;
  readonly cpuBusy: readonly number[];
  readonly targetCpu?: number;
  /** primary metric per CPU second of the target (e.g. req/s per busy proxy core). */
  readonly perCpu?: number;
  /** Same-round ratio (median) against each other target's primary metric. */
  readonly ratioTo: Record<string, number>;
}

export interface RatioResult extends Ratio {
  readonly value?: number;
  readonly met?: boolean;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function valid(r: RunRecord): boolean {
  return r.error === undefined && r.problems.length === 0;
}

export function summarize(records: readonly RunRecord[], targets: readonly string[], primary: string): TargetSummary[] {
  const out: TargetSummary[] = [];
  for (const t of targets) {
    const mine = records.filter((r) => r.target === t && valid(r));
    if (mine.length === 0) continue;
    const keys = Object.keys(mine[0].metrics);
    const med: Metrics = {};
    for (const k of keys) med[k] = median(mine.map((r) => r.metrics[k]));
    const prim = mine.map((r) => r.metrics[primary]);
    const ncpu = Math.max(...mine.map((r) => r.cpuBusy.length));
    const cpuBusy = Array.from({ length: ncpu }, (_, i) => median(mine.map((r) => r.cpuBusy[i] ?? 0)));
    const cpus = mine.map((r) => r.targetCpu).filter((x): x is number => x !== undefined);
    const targetCpu = cpus.length > 0 ? median(cpus) : undefined;
    const perCpu = targetCpu !== undefined && targetCpu > 0 ? median(mine.map((r) => r.metrics[primary] / (r.targetCpu ?? 1))) : undefined;
    const ratioTo: Record<string, number> = {};
    for (const other of targets) {
      const rs: number[] = [];
      for (const r of mine) {
        const o = records.find((x) => x.round === r.round && x.target === other && valid(x));
        if (o !== undefined && o.metrics[primary] > 0) rs.push(r.metrics[primary] / o.metrics[primary]);
      }
      if (rs.length > 0) ratioTo[other] = median(rs);
    }
    out.push({ target: t, runs: mine.length, median: med, min: Math.min(...prim), max: Math.max(...prim), cpuBusy, targetCpu, perCpu, ratioTo });
  }
  return out;
}

export function checkRatios(summaries: readonly TargetSummary[], ratios: readonly Ratio[]): RatioResult[] {
  return ratios.map((r) => {
    const value = summaries.find((s) => s.target === r.numerator)?.ratioTo[r.denominator];
    return { ...r, value, met: value === undefined || r.goal === undefined ? undefined : value >= r.goal };
  });
}

function fmt(x: number | undefined, digits: number): string {
  if (x === undefined || Number.isNaN(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface TableOptions {
  readonly columns: readonly Column[];
  readonly primary: string;
  readonly ratioColumns: readonly string[];
  readonly proxyCpus?: string;
  readonly loadCpus?: string;
  readonly rounds: number;
}

/** A Markdown table (readable as plain text too). */
export function table(summaries: readonly TargetSummary[], o: TableOptions): string {
  const primaryCol = o.columns.find((c) => c.key === o.primary);
  const head = ['target'];
  for (const c of o.columns) {
    head.push(o.rounds > 1 && c.key === o.primary ? `${c.header} (median)` : c.header);
    if (o.rounds > 1 && c.key === o.primary) head.push('min–max');
  }
  const pinned = o.proxyCpus !== undefined && o.loadCpus !== undefined;
  if (pinned) head.push(`CPU${o.proxyCpus} busy`, `CPU${o.loadCpus} busy`);
  head.push('target CPU s/s', `${primaryCol?.header ?? o.primary} per target CPU-s`);
  for (const r of o.ratioColumns) head.push(`× ${r}`);
  const rows = summaries.map((s) => {
    const row = [s.target];
    for (const c of o.columns) {
      row.push(fmt(s.median[c.key], c.digits));
      if (o.rounds > 1 && c.key === o.primary) row.push(`${fmt(s.min, c.digits)}–${fmt(s.max, c.digits)}`);
    }
    if (pinned) {
      row.push(fmt(s.cpuBusy[Number(o.proxyCpus)], 2), fmt(s.cpuBusy[Number(o.loadCpus)], 2));
    }
    row.push(fmt(s.targetCpu, 2), fmt(s.perCpu, 0));
    for (const r of o.ratioColumns) row.push(fmt(s.ratioTo[r], 2));
    return row;
  });
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function ratioLines(results: readonly RatioResult[]): string {
  return results
    .map((r) => {
      const v = r.value === undefined ? 'not measured' : r.value.toFixed(2);
      const goal = r.goal === undefined ? '' : ` (target ≥ ${r.goal}: ${r.met === undefined ? 'n/a' : r.met ? 'met' : 'NOT met'})`;
      return `- ${r.label}: ${v}${goal}`;
    })
    .join('\n');
}
