/**
 * CPU accounting of one L4 transfer. On this kernel (tick-based accounting, no
 * IRQ_TIME_ACCOUNTING) a tick spent in softirq — where loopback TCP receive work and the
 * sockmap verdicts run — is charged to no process, and the psock backlog (the spliced
 * sends) runs in kworkers. So next to the proxy process the bench samples everything the
 * transfer costs: the client (a reaped child of this process), the backend, the kernel
 * threads, and the softirq time of all CPUs. Only the softirq figure can include other
 * work on the machine; user-space work of other processes is not counted.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { groupCpuSeconds } from '../lib/cpu.ts';

const TICKS = 100; // USER_HZ

export interface CpuSample {
  /** utime + stime of the proxy's process group (undefined for direct). */
  readonly proxy?: number;
  readonly backend: number;
  /** Reaped children of this process (the load generator runs are spawned synchronously). */
  readonly client: number;
  /** Kernel threads (children of kthreadd: kworkers, ksoftirqd, ...). */
  readonly kthreads: number;
  /** softirq time of all CPUs (/proc/stat). */
  readonly softirq: number;
  /** Busy time of all CPUs (/proc/stat), everything on the machine. */
  readonly busy: number;
}

function statFields(stat: string): string[] {
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function kernelThreadSeconds(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    const c = entry.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let f: string[];
    try {
      f = statFields(readFileSync(`/proc/${entry}/stat`, 'utf8'));
    } catch {
      continue;
    }
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    if (entry !== '2' && f[1] !== '2') continue;
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / TICKS;
}

function reapedChildrenSeconds(): number {
  const f = statFields(readFileSync('/proc/self/stat', 'utf8'));
  // cutime is field 16, cstime 17.
  return (Number(f[13]) + Number(f[14])) / TICKS;
}

function machineSeconds(): { softirq: number; busy: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user)
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return { softirq: v[6] / TICKS, busy: busy / TICKS };
}

export function sampleCpu(proxyPgid: number | undefined, backendPgid: number): CpuSample {
  const m = machineSeconds();
  return {
    proxy: proxyPgid === undefined ? undefined : groupCpuSeconds(proxyPgid),
    backend: groupCpuSeconds(backendPgid),
    client: reapedChildrenSeconds(),
    kthreads: kernelThreadSeconds(),
    softirq: m.softirq,
    busy: m.busy,
  };
}

export interface CpuUse {
  readonly proxyCpuS?: number;
  readonly clientCpuS: number;
  readonly backendCpuS: number;
  readonly kthreadCpuS: number;
  readonly softirqS: number;
  /** Everything the transfer cost: proxy + client + backend + kernel threads + softirq. */
  readonly totalCpuS: number;
  /** Busy time of the whole machine, other work included. */
  readonly systemCpuS: number;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

export function cpuUse(a: CpuSample, b: CpuSample): CpuUse {
  const proxy = a.proxy === undefined || b.proxy === undefined ? undefined : r3(b.proxy - a.proxy);
  const client = r3(b.client - a.client);
  const backend = r3(b.backend - a.backend);
  const kthreads = r3(b.kthreads - a.kthreads);
  const softirq = r3(b.softirq - a.softirq);
  return {
    ...(proxy === undefined ? {} : { proxyCpuS: proxy }),
    clientCpuS: client,
    backendCpuS: backend,
    kthreadCpuS: kthreads,
    softirqS: softirq,
    totalCpuS: r3((proxy ?? 0) + client + backend + kthreads + softirq),
    systemCpuS: r3(b.busy - a.busy),
  };
}
