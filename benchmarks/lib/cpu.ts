/**
 * CPU accounting around a measured run, as in the anchors doc (§3.2): the busy fraction of
 * each CPU from /proc/stat (softirq included, which per-process counters miss) and the
 * CPU seconds charged to one process group (utime + stime of every member).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface CpuTimes {
  readonly busy: number[];
  readonly total: number[];
}

/** Per-CPU busy and total jiffies ("cpuN" lines of /proc/stat). */
export function readCpuTimes(): CpuTimes {
  const busy: number[] = [];
  const total: number[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const f = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice; guest is already in user.
    const all = f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + (f[7] ?? 0);
    const idle = f[3] + f[4];
    busy[Number(m[1])] = all - idle;
    total[Number(m[1])] = all;
  }
  return { busy, total };
}

/** Busy fraction per CPU between two samples. */
export function busyFractions(a: CpuTimes, b: CpuTimes): number[] {
  return b.busy.map((busy, i) => {
    const dt = b.total[i] - (a.total[i] ?? 0);
    return dt > 0 ? (busy - (a.busy[i] ?? 0)) / dt : 0;
  });
}

/** CPU seconds (user + system) used so far by every process whose process group is pgid. */
export function groupCpuSeconds(pgid: number): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[0] = state (field 3), so field N is rest[N - 3].
    if (Number(rest[5 - 3]) !== pgid) continue;
    ticks += Number(rest[14 - 3]) + Number(rest[15 - 3]);
  }
  return ticks / CLOCK_TICKS;
}

export function cpuCount(): number {
  return availableParallelism();
}
