/**
 * `npm run bench:l4`: L4 (TCP passthrough) benchmark of issue 5, every target in one run on
 * 127.0.0.1: Sluice with eBPF splicing (`--ebpf on`), Sluice relaying in userspace
 * (`--ebpf off`), HAProxy in TCP mode, nginx `stream`, and direct (no proxy, the ceiling).
 * For each target and repeat: 1 GiB one-way (client -> sink), 1 GiB echo (both directions at
 * once), and a bounded number of short connections (connect, 64 bytes each way, close).
 * Load generator and backend: benchmarks/l4/l4load.c, built here with cc. See
 * benchmarks/README.md ("The L4 benchmark") for settings and how to read the numbers.
 */
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBuilt } from './lib/build.ts';
import { ensureDebianPackages, loadAverage, machineInfo } from './lib/machine.ts';
import { ProcessSet, reapStale, type Managed } from './lib/procs.ts';
import { haproxyL4Config, nginxStreamConfig, sluiceL4Config, type PortPair } from './l4/configs.ts';
import { cpuUse, sampleCpu } from './l4/cpu.ts';
import { metricSum } from './l4/prom.ts';
import { goalLines, l4Goals, l4Tables, summarizeL4, systemCpuLines, type Kind, type L4Run } from './l4/report.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const GIB = 2 ** 30;
const MIB = 2 ** 20;

function log(msg: string): void {
  process.stderr.write(`[bench:l4 ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return n;
}

interface Settings {
  readonly bytes: number;
  readonly repeats: number;
  readonly conns: number;
  readonly connThreads: number;
  readonly connSize: number;
  readonly warmupBytes: number;
  readonly portBase: number;
  readonly only?: ReadonlySet<string>;
  readonly record: boolean;
  readonly outDir: string;
  readonly jsonFile?: string;
  readonly deadlineS: number;
}

function readSettings(): Settings {
  const only = process.env.BENCH_ONLY;
  return {
    bytes: Math.round(envNumber('BENCH_L4_MIB', 1024) * MIB),
    repeats: Math.max(1, envNumber('BENCH_L4_REPEATS', 3)),
    conns: Math.max(1, envNumber('BENCH_L4_CONNS', 3000)),
    connThreads: Math.max(1, envNumber('BENCH_L4_CONN_THREADS', 4)),
    connSize: 64,
    warmupBytes: Math.round(envNumber('BENCH_L4_WARMUP_MIB', 128) * MIB),
    portBase: envNumber('BENCH_PORT_BASE', 18100),
    only: only === undefined || only === '' ? undefined : new Set(only.split(',').map((s) => s.trim())),
    record: process.env.BENCH_RECORD !== '0',
    outDir: process.env.BENCH_L4_OUT ?? join(root, 'benchmarks', 'out'),
    jsonFile: process.env.BENCH_L4_JSON,
    deadlineS: envNumber('BENCH_L4_DEADLINE_S', 570),
  };
}

interface L4Target {
  readonly name: string;
  readonly description: string;
  readonly ports: PortPair;
  /** Admin port of a Sluice target (for /metrics). */
  readonly admin?: number;
  /** Expected relay path in Sluice's access log. */
  readonly relay?: 'kernel' | 'userspace';
  start(): Promise<Managed | undefined>;
}

const NGINX_STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** nginx built with stream (static), or Debian's dynamic module; installs libnginx-mod-stream as root if needed. */
function nginxStreamModule(): string | undefined {
  const v = spawnSync('nginx', ['-V'], { encoding: 'utf8' });
  const flags = `${v.stdout ?? ''}${v.stderr ?? ''}`;
  if (/--with-stream(\s|$)/.test(flags)) return undefined;
  if (!existsSync(NGINX_STREAM_MODULE) && process.getuid?.() === 0) {
    log('installing libnginx-mod-stream with apt-get');
    spawnSync('apt-get', ['install', '-y', '-q', 'libnginx-mod-stream'], { stdio: 'inherit', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (!existsSync(NGINX_STREAM_MODULE)) throw new Error(`nginx has no stream module: apt-get install -y libnginx-mod-stream`);
  return NGINX_STREAM_MODULE;
}

function buildTool(runDir: string): string {
  const src = join(root, 'benchmarks/l4/l4load.c');
  const bin = join(runDir, 'l4load');
  const r = spawnSync('cc', ['-O2', '-Wall', '-pthread', '-o', bin, src], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`cc failed building l4load: ${r.stderr ?? r.error?.message}`);
  return bin;
}

interface ClientResult {
  ok: boolean;
  bytes: number;
  seconds: number;
  error: string;
  count?: number;
  failed?: number;
  p50Ms?: number;
  p99Ms?: number;
}

function runClient(tool: string, args: readonly string[], timeoutMs: number): ClientResult {
  const r = spawnSync(tool, args as string[], { encoding: 'utf8', timeout: timeoutMs });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.error !== undefined || line === '') {
    return { ok: false, bytes: 0, seconds: 0, error: r.error?.message ?? `no output (exit ${r.status}): ${(r.stderr ?? '').trim()}` };
  }
  return JSON.parse(line) as ClientResult;
}

function alive(proc: Managed): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '';
  }
}

/** GET /metrics on a fresh connection (a reused keep-alive socket may have been closed by the server meanwhile). */
function scrapeOnce(adminPort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: adminPort, path: '/metrics', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('/metrics timed out')));
    req.on('error', reject);
  });
}

async function scrape(adminPort: number): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await scrapeOnce(adminPort);
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(500);
    }
  }
}

async function main(): Promise<number> {
  process.stdout.on('error', () => undefined);
  const s = readSettings();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  mkdirSync(s.outDir, { recursive: true });
  const pidFile = join(s.outDir, '.pids-l4');
  const reaped = reapStale(pidFile);
  if (reaped > 0) log(`killed ${reaped} process group(s) left over by an earlier run`);
  const runDir = join(s.outDir, `l4-${stamp}`);
  mkdirSync(runDir, { recursive: true });
  const procs = new ProcessSet(pidFile, runDir, runDir);
  installCleanup(procs);
  const deadline = setTimeout(() => {
    log(`deadline of ${s.deadlineS}s passed: killing everything`);
    procs.killAllNow();
    process.exit(124);
  }, s.deadlineS * 1000);

  ensureDebianPackages({ haproxy: 'haproxy', nginx: 'nginx' }, log);
  const streamModule = nginxStreamModule();
  ensureBuilt(root, log);
  const tool = buildTool(runDir);
  const machine = machineInfo(join(root, 'node_modules/.bin/node'), ['haproxy', 'nginx', 'libnginx-mod-stream', 'gcc']);
  const uname = spawnSync('uname', ['-srvm'], { encoding: 'utf8' }).stdout.trim();
  const loadAtStart = loadAverage();
  log(`run directory ${runDir}`);
  log(`machine: ${machine.nproc} CPU(s), ${machine.cpuModel}, ${uname}; load average ${loadAtStart.join(' ')}`);
  if (loadAtStart[0] > 1) log(`load average ${loadAtStart[0]} > 1: other work is running, numbers will be noisy`);

  const base = s.portBase;
  const backend: PortPair = { sink: base, echo: base + 1 };
  const backendProc = procs.start({ name: 'backend', command: tool, args: ['serve', String(backend.sink), String(backend.echo)], stdout: join(runDir, 'backend.out') });
  await waitFor('backend', 10_000, async () => {
    if (!alive(backendProc)) throw new Error(`backend exited: ${tail(backendProc.logFile)}`);
    return existsSync(join(runDir, 'backend.out')) && readFileSync(join(runDir, 'backend.out'), 'utf8').includes('ready');
  });

  const sluice = (name: string, ebpf: 'on' | 'off', offset: number): L4Target => {
    const ports = { sink: base + offset, echo: base + offset + 1 };
    const admin = base + offset + 9;
    return {
      name,
      ports,
      admin,
      relay: ebpf === 'on' ? 'kernel' : 'userspace',
      description: `\`bin/sluice run --config <run>/${name}.yaml --ebpf ${ebpf}\`: a Gateway with two TCP listeners, a TCPRoute each to a Service + EndpointSlice on 127.0.0.1 (access log on, the product default, to /dev/null; SLUICE_LOG_LEVEL=warn)`,
      async start() {
        const cfg = join(runDir, `${name}.yaml`);
        writeFileSync(cfg, sluiceL4Config(ports, backend));
        return procs.start({
          name,
          command: join(root, 'bin/sluice'),
          args: ['run', '--config', cfg, '--admin', `127.0.0.1:${admin}`, '--ebpf', ebpf],
          env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' },
        });
      },
    };
  };
  const haproxyPorts = { sink: base + 30, echo: base + 31 };
  const nginxPorts = { sink: base + 40, echo: base + 41 };
  const allTargets: L4Target[] = [
    sluice('sluice-splice', 'on', 10),
    sluice('sluice-pipe', 'off', 20),
    {
      name: 'haproxy',
      ports: haproxyPorts,
      description: 'HAProxy `mode tcp`, `nbthread 1`, default buffers, no `option splice-*`, no log',
      async start() {
        const cfg = join(runDir, 'haproxy.cfg');
        writeFileSync(cfg, haproxyL4Config(runDir, haproxyPorts, backend));
        return procs.start({ name: 'haproxy', command: 'haproxy', args: ['-f', cfg, '-db'] });
      },
    },
    {
      name: 'nginx',
      ports: nginxPorts,
      description: 'nginx `stream` `proxy_pass`, `worker_processes 1`, `proxy_half_close on` (else the FIN closes both sides), default buffers (16k), no access log',
      async start() {
        const cfg = join(runDir, 'nginx.conf');
        writeFileSync(cfg, nginxStreamConfig(runDir, nginxPorts, backend, streamModule));
        return procs.start({ name: 'nginx', command: 'nginx', args: ['-p', runDir, '-c', cfg, '-e', join(runDir, 'nginx-error.log')] });
      },
    },
    { name: 'direct', ports: backend, description: 'the client straight to the backend (no proxy): the ceiling of this machine and load generator', start: async () => undefined },
  ];
  const targets = allTargets.filter((t) => s.only === undefined || s.only.has(t.name));

  const running = new Map<string, Managed | undefined>();
  const startErrors: Record<string, string> = {};
  for (const t of targets) {
    try {
      log(`starting ${t.name}`);
      const proc = await t.start();
      await waitFor(t.name, 30_000, async () => {
        if (proc !== undefined && !alive(proc)) throw new Error(`${t.name} exited (${proc.child.exitCode ?? proc.child.signalCode}): ${tail(proc.logFile)}`);
        const a = runClient(tool, ['oneway', String(t.ports.sink), String(MIB)], 10_000);
        const b = a.ok ? runClient(tool, ['echo', String(t.ports.echo), String(MIB)], 10_000) : a;
        if (!b.ok) throw new Error(`test transfer failed: ${b.error}`);
        return true;
      });
      if (t.admin !== undefined) {
        const enabled = metricSum(await scrape(t.admin), 'sluice_splice_enabled');
        const want = t.relay === 'kernel' ? 1 : 0;
        if (enabled !== want) throw new Error(`sluice_splice_enabled is ${enabled}, want ${want}`);
      }
      if (s.warmupBytes > 0) {
        runClient(tool, ['oneway', String(t.ports.sink), String(s.warmupBytes)], 120_000);
        runClient(tool, ['echo', String(t.ports.echo), String(s.warmupBytes)], 120_000);
      }
      running.set(t.name, proc);
    } catch (err) {
      startErrors[t.name] = (err as Error).message;
      log(`${t.name} not measured: ${(err as Error).message}`);
    }
  }
  const live = targets.filter((t) => running.has(t.name));

  const runs: L4Run[] = [];
  const transferTimeoutMs = Math.max(60_000, (s.bytes / (50 * MIB)) * 1000);
  for (let repeat = 1; repeat <= s.repeats; repeat++) {
    const order = rotate(live, repeat - 1);
    for (const t of order) {
      const proc = running.get(t.name);
      log(`repeat ${repeat}: ${t.name} (load average ${loadAverage().join(' ')})`);
      for (const kind of ['oneway', 'echo', 'rate'] as const) {
        const args =
          kind === 'rate'
            ? ['rate', String(t.ports.echo), String(s.conns), String(s.connSize), String(s.connThreads)]
            : [kind, String(kind === 'oneway' ? t.ports.sink : t.ports.echo), String(s.bytes)];
        const run = await measure(tool, args, kind, t, repeat, proc, backendProc.pid, transferTimeoutMs);
        runs.push(run);
        const value = kind === 'rate' ? `${((run.count ?? 0) / Math.max(run.seconds, 1e-9)).toFixed(0)} conn/s` : `${(run.bytes / GIB / Math.max(run.seconds, 1e-9)).toFixed(2)} GiB/s`;
        log(`  ${kind}: ${run.ok ? value : `FAILED ${run.error}`} proxy CPU ${run.proxyCpuS?.toFixed(2) ?? '–'} s, all ${run.totalCpuS.toFixed(2)} s (softirq ${run.softirqS.toFixed(2)}, kthreads ${run.kthreadCpuS.toFixed(2)}, client ${run.clientCpuS.toFixed(2)}, backend ${run.backendCpuS.toFixed(2)}), machine ${run.systemCpuS.toFixed(2)} s${run.kernelBytes !== undefined ? `, kernel-spliced ${(run.kernelBytes / MIB).toFixed(0)} MiB` : ''}`);
      }
    }
  }

  // Which path Sluice's connections took, from its metrics (the access log goes to /dev/null).
  const relayCounts: Record<string, Record<string, number>> = {};
  for (const t of live) {
    if (t.admin === undefined) continue;
    try {
      relayCounts[t.name] = relayCountsFrom(await scrape(t.admin));
    } catch (err) {
      relayCounts[t.name] = { scrapeFailed: 1 };
      log(`${t.name}: /metrics failed: ${(err as Error).message}`);
    }
  }

  log('stopping all processes');
  await procs.stopAll(5000);
  clearTimeout(deadline);

  const names = live.map((t) => t.name);
  const summaries = summarizeL4(runs, names);
  const goals = l4Goals(runs);
  const tables = l4Tables(summaries, s.repeats);
  const sysLines = systemCpuLines(runs);
  const loadAtEnd = loadAverage();
  const failures = runs.filter((r) => !r.ok);
  const problems = [
    ...Object.entries(startErrors).map(([n, m]) => `${n} not measured: ${m}`),
    ...failures.map((r) => `repeat ${r.repeat} ${r.target} ${r.kind} failed: ${r.error}`),
    ...kernelProblems(runs, live),
    ...Object.entries(relayCounts).flatMap(([n, c]) => {
      const want = live.find((t) => t.name === n)?.relay;
      const wrong = Object.entries(c).filter(([k]) => k !== want).reduce((a, [, v]) => a + v, 0);
      return wrong > 0 ? [`${n}: ${wrong} connection(s) took another path than ${want} (${JSON.stringify(c)})`] : [];
    }),
  ];
  const config = `${fmtBytes(s.bytes)} per transfer, ${s.repeats} repeat(s), ${s.conns} connections × ${s.connSize} B each way (${s.connThreads} at a time)`;

  process.stdout.write(`\nL4 TCP passthrough: ${config}\n\n${tables}\n\n${goalLines(goals)}\n${sysLines.join('\n')}\n`);
  process.stdout.write(`\nload average: ${loadAtStart.join(' ')} at start, ${loadAtEnd.join(' ')} at end\n`);
  for (const p of problems) process.stdout.write(`PROBLEM: ${p}\n`);
  process.stdout.write(`Sluice connections by relay path (its metrics): ${JSON.stringify(relayCounts)}\n`);

  const command = commandLine(s);
  const result = {
    scenario: 'l4',
    date: new Date().toISOString(),
    command,
    settings: { ...s, only: s.only === undefined ? undefined : [...s.only] },
    machine: { ...machine, uname },
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    targets: Object.fromEntries(targets.map((t) => [t.name, t.description])),
    startErrors,
    runs,
    summaries,
    goals,
    relayCounts,
    problems,
  };
  const jsonFile = s.jsonFile ?? join(s.outDir, `l4-${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${jsonFile}`);

  if (s.record) {
    const m = machine;
    const pkgs = Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ');
    const quiet = loadAtStart[0] <= 1;
    const text = `
## ${result.date.slice(0, 16).replace('T', ' ')} UTC: L4 TCP passthrough (issue 5): ${config}

- Command: \`${command}\` (commit ${m.gitCommit})
- Machine: ${m.nproc} CPUs, ${m.cpuModel}, ${m.memGiB} GiB, \`${uname}\`, node ${m.node}; ${pkgs}
- Load average (1/5/15 min): ${loadAtStart.join(' ')} at start, ${loadAtEnd.join(' ')} at end${quiet ? '' : ' — **the machine was busy with other work; treat absolute numbers as noisy**'}
- Load generator and backend: \`benchmarks/l4/l4load.c\` (C, threads, 256 KiB writes, every byte checked). Nothing pinned (client, backend, proxy and kernel work share both CPUs). One worker/thread for every proxy.
${targets.map((t) => `- ${t.name}: ${t.description}`).join('\n')}
- Throughput is per direction (echo: 1 GiB each way at once). Proxy CPU = utime+stime of the proxy's process group (/proc/PID/stat, 10 ms ticks; a run under one tick counts as one). GiB per proxy CPU-s counts the bytes crossing the proxy (echo: both directions). All CPU = what the transfer cost in total: proxy + client + backend + kernel threads (kworkers run the spliced sends) + softirq of all CPUs (loopback TCP receive and the BPF verdicts run there, charged to no process on this kernel; the only part other work on the machine can add to). Added over direct = all CPU minus direct's in the same repeat: what putting the proxy in the path cost, kernel work included.

${tables}

${goalLines(goals)}
${sysLines.join('\n')}
${problems.length > 0 ? `\n${problems.map((p) => `- PROBLEM: ${p}`).join('\n')}\n` : ''}${process.env.BENCH_NOTE ? `\n- Note: ${process.env.BENCH_NOTE}\n` : ''}
Sluice connections by relay path (its metrics): \`${JSON.stringify(relayCounts)}\`. Raw data: \`${jsonFile.startsWith(root) ? jsonFile.slice(root.length + 1) : jsonFile}\` (not committed).
`;
    appendFileSync(join(root, 'benchmarks', 'RESULTS.md'), text);
    log('appended a summary to benchmarks/RESULTS.md');
  }
  return problems.length > 0 ? 1 : 0;
}

async function measure(tool: string, args: readonly string[], kind: Kind, t: L4Target, repeat: number, proc: Managed | undefined, backendPgid: number, timeoutMs: number): Promise<L4Run> {
  const kernelBefore = t.admin !== undefined && kind !== 'rate' ? await kernelBytes(t.admin) : undefined;
  const cpuA = sampleCpu(proc?.pid, backendPgid);
  const r = runClient(tool, args, timeoutMs);
  const cpuB = sampleCpu(proc?.pid, backendPgid);
  // The kernel counters are read at scrape time: the bytes of a finished transfer are all in.
  const kernelAfter = kernelBefore !== undefined ? await kernelBytes(t.admin!) : undefined;
  return {
    repeat,
    target: t.name,
    kind,
    ok: r.ok,
    error: r.error,
    bytes: r.bytes,
    seconds: r.seconds,
    ...cpuUse(cpuA, cpuB),
    ...(kind === 'rate' ? { count: r.count, failed: r.failed, p50Ms: r.p50Ms, p99Ms: r.p99Ms } : {}),
    ...(kernelBefore !== undefined && kernelAfter !== undefined ? { kernelBytes: kernelAfter - kernelBefore } : {}),
    command: `l4load ${args.join(' ')}`,
  };
}

/** Bytes Sluice's kernel splicing moved so far, or undefined when /metrics cannot be read (logged). */
async function kernelBytes(adminPort: number): Promise<number | undefined> {
  try {
    return metricSum(await scrape(adminPort), 'sluice_splice_bytes_total') ?? 0;
  } catch (err) {
    log(`/metrics on :${adminPort} failed: ${(err as Error).message}`);
    return undefined;
  }
}

/** The splice target's transfers must have gone through the kernel, the pipe target's not. */
function kernelProblems(runs: readonly L4Run[], targets: readonly L4Target[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    const t = targets.find((x) => x.name === r.target);
    if (t?.relay === undefined || r.kernelBytes === undefined || !r.ok) continue;
    const crossed = r.kind === 'echo' ? 2 * r.bytes : r.bytes;
    if (t.relay === 'kernel' && r.kernelBytes < crossed) out.push(`repeat ${r.repeat} ${r.target} ${r.kind}: the kernel spliced ${r.kernelBytes} of ${crossed} bytes`);
    if (t.relay === 'userspace' && r.kernelBytes > 0) out.push(`repeat ${r.repeat} ${r.target} ${r.kind}: ${r.kernelBytes} bytes were spliced with --ebpf off`);
  }
  return out;
}

/** Connections spliced in the kernel vs relayed in userspace over the process's life. */
function relayCountsFrom(metrics: string): Record<string, number> {
  const all = metricSum(metrics, 'sluice_l4_connections_total') ?? 0;
  const kernel = metricSum(metrics, 'sluice_splice_connections_total') ?? 0;
  // The start-up self-test splices one pair that is no L4 connection: hence max(0, ...).
  return { kernel, userspace: Math.max(0, all - kernel) };
}

function fmtBytes(n: number): string {
  return n >= GIB && n % GIB === 0 ? `${n / GIB} GiB` : `${(n / MIB).toFixed(n % MIB === 0 ? 0 : 1)} MiB`;
}

function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = xs.length === 0 ? 0 : by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = (err as Error).message;
      if (/exited/.test(last)) throw err;
    }
    if (Date.now() > until) throw new Error(`${what} not ready after ${timeoutMs / 1000}s${last ? `: ${last}` : ''}`);
    await sleep(200);
  }
}

function commandLine(s: Settings): string {
  const env: string[] = [];
  const add = (k: string, v: string | number | undefined, dflt: string | number): void => {
    if (v !== undefined && String(v) !== String(dflt)) env.push(`${k}=${v}`);
  };
  add('BENCH_L4_MIB', s.bytes / MIB, 1024);
  add('BENCH_L4_REPEATS', s.repeats, 3);
  add('BENCH_L4_CONNS', s.conns, 3000);
  add('BENCH_L4_CONN_THREADS', s.connThreads, 4);
  add('BENCH_ONLY', s.only === undefined ? undefined : [...s.only].join(','), '');
  return [...env, 'npm run bench:l4'].join(' ');
}

function installCleanup(procs: ProcessSet): void {
  process.on('exit', () => procs.killAllNow());
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      log(`${sig}: stopping everything`);
      procs.killAllNow();
      process.exit(130);
    });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`error: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
