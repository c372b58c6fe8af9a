/**
 * `npm run bench`: start every target of a scenario on 127.0.0.1, drive each with the load
 * generator, print a table, write JSON to benchmarks/out/ and append a summary to
 * benchmarks/RESULTS.md. Every process it starts is killed on the way out (normal end,
 * error, Ctrl-C, SIGTERM, or the overall deadline). See benchmarks/README.md.
 */
import { mkdirSync, readdirSync, writeFileSync, appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyFractions, cpuCount, groupCpuSeconds, readCpuTimes } from './lib/cpu.ts';
import { ensureBuilt } from './lib/build.ts';
import { ensureDebianPackages, loadAverage, machineInfo } from './lib/machine.ts';
import { ProcessSet, reapStale, type Managed } from './lib/procs.ts';
import { checkRatios, ratioLines, summarize, table, type RunRecord } from './lib/report.ts';
import { writeReporter } from './lib/wrk.ts';
import { topFunctions, formatTop } from './tools/cpuprofile-top.ts';
import { httpScenario } from './scenarios/http.ts';
import type { BenchConfig, Scenario, ScenarioContext, Target } from './scenarios/types.ts';

const SCENARIOS: Record<string, Scenario> = { http: httpScenario };

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'benchmarks', 'out');
const nodeBin = existsSync(join(root, 'node_modules/.bin/node')) ? join(root, 'node_modules/.bin/node') : process.execPath;

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function envNumber(name: string, dflt: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return n;
}

function pickScenario(): Scenario {
  const name = process.env.BENCH_SCENARIO ?? 'http';
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new Error(`BENCH_SCENARIO=${name}: known scenarios are ${Object.keys(SCENARIOS).join(', ')}`);
  return scenario;
}

function readConfig(runDir: string): { config: BenchConfig; profile: boolean; record: boolean } {
  const pinning = cpuCount() >= 2 && process.env.BENCH_PIN !== '0';
  const profile = process.env.BENCH_PROFILE === '1';
  let sluiceNodeOptions = process.env.SLUICE_NODE_OPTIONS ?? '';
  if (profile) sluiceNodeOptions = `${sluiceNodeOptions} --cpu-prof --cpu-prof-dir=${runDir}/profile`.trim();
  const only = process.env.BENCH_ONLY;
  const config: BenchConfig = {
    durationS: envNumber('BENCH_DURATION', 10),
    warmupS: envNumber('BENCH_WARMUP', 3),
    connections: envNumber('BENCH_CONNECTIONS', 50),
    threads: envNumber('BENCH_THREADS', 1),
    rounds: Math.max(1, envNumber('BENCH_ROUNDS', 1)),
    proxyCpus: pinning ? (process.env.BENCH_PROXY_CPU ?? '0') : undefined,
    loadCpus: pinning ? (process.env.BENCH_LOAD_CPU ?? '1') : undefined,
    portBase: envNumber('BENCH_PORT_BASE', 18000),
    sluiceNodeOptions,
    only: only === undefined || only === '' ? undefined : new Set(only.split(',').map((s) => s.trim())),
  };
  // A profiled Sluice is slower: such runs go to RESULTS.md only when asked explicitly.
  const record = process.env.BENCH_RECORD === undefined ? !profile : process.env.BENCH_RECORD !== '0';
  return { config, profile, record };
}

function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = xs.length === 0 ? 0 : by % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

async function main(): Promise<number> {
  // `npm run bench | head` must not crash the runner before it cleans up.
  process.stdout.on('error', () => undefined);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  mkdirSync(outDir, { recursive: true });
  const pidFile = join(outDir, '.pids');
  const reaped = reapStale(pidFile);
  if (reaped > 0) log(`killed ${reaped} process group(s) left over by an earlier run`);

  const scenario = pickScenario();
  const runDir = join(outDir, `${scenario.name}-${stamp}`);
  const { config: cfg, profile, record } = readConfig(runDir);
  mkdirSync(runDir, { recursive: true });
  const procs = new ProcessSet(pidFile, runDir, runDir);
  installCleanup(procs);

  ensureDebianPackages(scenario.debianPackages, log);
  ensureBuilt(root, log);
  writeReporter(runDir);
  const machine = machineInfo(nodeBin, Object.values(scenario.debianPackages).filter((p) => p !== 'util-linux'));
  const loadAtStart = loadAverage();
  log(`run directory ${runDir}`);
  log(`machine: ${machine.nproc} CPU(s), ${machine.cpuModel}, kernel ${machine.kernel}, node ${machine.node}; load average ${loadAtStart.join(' ')}`);
  if (loadAtStart[0] > 1) log(`load average ${loadAtStart[0]} > 1: other work is running, numbers will be noisy`);

  const ctx: ScenarioContext = { config: cfg, procs, runDir, root, nodeBin, log };
  const allTargets = await scenario.setup(ctx);
  const wanted = allTargets.filter((t) => cfg.only === undefined || cfg.only.has(t.name));
  const perRunS = cfg.warmupS + cfg.durationS + 25;
  const deadlineS = 180 + wanted.length * 40 + cfg.rounds * wanted.length * perRunS;
  const deadline = setTimeout(() => {
    log(`overall deadline of ${deadlineS}s passed: killing everything`);
    procs.killAllNow();
    process.exit(124);
  }, deadlineS * 1000);

  const running = new Map<string, Managed | undefined>();
  const startErrors: Record<string, string> = {};
  for (const t of wanted) {
    try {
      log(`starting ${t.name}`);
      running.set(t.name, await t.start(ctx));
    } catch (err) {
      startErrors[t.name] = (err as Error).message;
      log(`${t.name} did not start: ${(err as Error).message}`);
    }
  }
  const live = wanted.filter((t) => running.has(t.name));

  const records: RunRecord[] = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const t of rotate(live, round - 1)) {
      records.push(await measureOne(ctx, scenario, t, round, running.get(t.name)));
    }
  }

  log('stopping all processes');
  await procs.stopAll(5000);
  clearTimeout(deadline);

  const names = live.map((t) => t.name);
  const summaries = summarize(records, names, scenario.primary);
  const ratioColumns = [scenario.reference, ...new Set(scenario.ratios.map((r) => r.denominator))].filter(
    (n, i, a) => a.indexOf(n) === i && names.includes(n),
  );
  const tableText = table(summaries, {
    columns: scenario.columns,
    primary: scenario.primary,
    ratioColumns,
    proxyCpus: cfg.proxyCpus,
    loadCpus: cfg.loadCpus,
    rounds: cfg.rounds,
  });
  const goals = checkRatios(summaries, scenario.ratios);
  const loadAtEnd = loadAverage();
  const problems = records.filter((r) => r.error !== undefined || r.problems.length > 0);

  process.stdout.write(`\n${scenario.title}\n\n${tableText}\n\n${ratioLines(goals)}\n`);
  process.stdout.write(`\nload average: ${loadAtStart.join(' ')} at start, ${loadAtEnd.join(' ')} at end\n`);
  for (const [name, msg] of Object.entries(startErrors)) process.stdout.write(`NOT MEASURED ${name}: ${msg}\n`);
  for (const r of problems) process.stdout.write(`INVALID round ${r.round} ${r.target}: ${r.error ?? r.problems.join('; ')}\n`);
  const warned = records.filter((r) => r.warnings.length > 0);
  for (const r of warned) process.stdout.write(`warning, round ${r.round} ${r.target}: ${r.warnings.join('; ')}\n`);

  const command = commandLine(cfg, scenario, profile);
  const result = {
    scenario: scenario.name,
    title: scenario.title,
    date: new Date().toISOString(),
    command,
    config: { ...cfg, only: cfg.only === undefined ? undefined : [...cfg.only] },
    machine,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
    setup: scenario.describe(ctx),
    targets: Object.fromEntries(wanted.map((t) => [t.name, t.description])),
    startErrors,
    records,
    summaries,
    goals,
  };
  const jsonFile = join(outDir, `${scenario.name}-${stamp}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
  log(`wrote ${jsonFile}`);

  if (profile) {
    const windows = records.filter((r) => r.target === 'sluice' && r.windowUs !== undefined).map((r) => r.windowUs!);
    const text = summarizeProfiles(join(runDir, 'profile'), windows);
    if (text !== '') {
      writeFileSync(join(runDir, 'profile-top.txt'), text);
      process.stdout.write(`\nSluice CPU profile (self time, top functions), ${join(runDir, 'profile')}:\n${text}\n`);
    }
  }

  if (record) {
    appendResults({
      title: scenario.title,
      command,
      date: result.date,
      machine,
      loadAtStart,
      loadAtEnd,
      setup: result.setup,
      tableText,
      goals: ratioLines(goals),
      notes: [
        ...Object.entries(startErrors).map(([n, m]) => `${n} not measured: ${m}`),
        ...problems.map((r) => `round ${r.round} ${r.target} invalid: ${r.error ?? r.problems.join('; ')}`),
        ...warned.map((r) => `round ${r.round} ${r.target}: ${r.warnings.join('; ')}`),
        ...(process.env.BENCH_NOTE ? [process.env.BENCH_NOTE] : []),
      ],
      jsonFile: jsonFile.slice(root.length + 1),
    });
    log('appended a summary to benchmarks/RESULTS.md');
  }
  return problems.length > 0 || Object.keys(startErrors).length > 0 ? 1 : 0;
}

async function measureOne(ctx: ScenarioContext, scenario: Scenario, t: Target, round: number, proc: Managed | undefined): Promise<RunRecord> {
  const label = `r${round}-${t.name}`;
  const startedAt = new Date().toISOString();
  const loadAvg = loadAverage();
  log(`round ${round}: ${t.name} (load average ${loadAvg.join(' ')})`);
  try {
    await scenario.warmup(ctx, t, label);
    // CPU accounting covers the measured window only.
    const cpuA = readCpuTimes();
    const groupA = proc === undefined ? 0 : groupCpuSeconds(proc.pid);
    const t0 = performance.now();
    const w0 = monotonicUs();
    const m = await scenario.measure(ctx, t, label);
    const windowUs: [number, number] = [w0, monotonicUs()];
    const wall = (performance.now() - t0) / 1000;
    const cpuB = readCpuTimes();
    const targetCpu = proc === undefined ? undefined : (groupCpuSeconds(proc.pid) - groupA) / wall;
    const summary = Object.entries(m.metrics)
      .filter(([k]) => scenario.columns.some((c) => c.key === k))
      .map(([k, v]) => `${k}=${v.toFixed(k === scenario.primary ? 0 : 2)}`)
      .join(' ');
    const flags = [...m.problems.map((p) => `PROBLEM: ${p}`), ...m.warnings.map((w) => `warning: ${w}`)];
    log(`  ${summary}${flags.length > 0 ? `  ${flags.join('; ')}` : ''}`);
    return {
      round, target: t.name, startedAt, loadAvg, metrics: m.metrics, cpuBusy: busyFractions(cpuA, cpuB), targetCpu,
      command: m.command, rawFile: m.rawFile, problems: m.problems, warnings: m.warnings, windowUs,
    };
  } catch (err) {
    log(`  failed: ${(err as Error).message}`);
    return { round, target: t.name, startedAt, loadAvg, metrics: {}, cpuBusy: [], command: '', rawFile: '', problems: [], warnings: [], error: (err as Error).message };
  }
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function commandLine(cfg: BenchConfig, scenario: Scenario, profile: boolean): string {
  const env: string[] = [];
  const add = (k: string, v: string | number | undefined, dflt: string | number): void => {
    if (v !== undefined && String(v) !== String(dflt)) env.push(`${k}=${v}`);
  };
  add('BENCH_SCENARIO', scenario.name, 'http');
  add('BENCH_DURATION', cfg.durationS, 10);
  add('BENCH_WARMUP', cfg.warmupS, 3);
  add('BENCH_CONNECTIONS', cfg.connections, 50);
  add('BENCH_THREADS', cfg.threads, 1);
  add('BENCH_ROUNDS', cfg.rounds, 1);
  add('BENCH_ONLY', cfg.only === undefined ? undefined : [...cfg.only].join(','), '');
  if (profile) env.push('BENCH_PROFILE=1');
  if (process.env.SLUICE_NODE_OPTIONS) env.push(`SLUICE_NODE_OPTIONS='${process.env.SLUICE_NODE_OPTIONS}'`);
  if (process.env.BENCH_SLUICE_VARIANTS) env.push(`BENCH_SLUICE_VARIANTS='${process.env.BENCH_SLUICE_VARIANTS}'`);
  return [...env, 'npm run bench'].join(' ');
}

interface ResultsEntry {
  title: string;
  command: string;
  date: string;
  machine: ReturnType<typeof machineInfo>;
  loadAtStart: readonly number[];
  loadAtEnd: readonly number[];
  setup: string;
  tableText: string;
  goals: string;
  notes: readonly string[];
  jsonFile: string;
}

function appendResults(e: ResultsEntry): void {
  const file = join(root, 'benchmarks', 'RESULTS.md');
  if (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
    writeFileSync(
      file,
      '# Benchmark results\n\nAppended by `npm run bench` (see benchmarks/README.md). Newest last. Ratios are medians of same-round ratios; absolute numbers on this shared VM drift by ±40%, ratios much less.\n',
    );
  }
  const m = e.machine;
  const pkgs = Object.entries(m.packages).map(([k, v]) => `${k} ${v}`).join(', ');
  // The run itself keeps both CPUs busy (load average ~2 by its end): judge by the load at start.
  const quiet = e.loadAtStart[0] <= 1;
  const text = `
## ${e.date.slice(0, 16).replace('T', ' ')} UTC: ${e.title}

- Command: \`${e.command}\` (commit ${m.gitCommit})
- Machine: ${m.nproc} CPUs, ${m.cpuModel}, ${m.memGiB} GiB, kernel ${m.kernel}, node ${m.node}; ${pkgs}
- Load average (1/5/15 min): ${e.loadAtStart.join(' ')} at start, ${e.loadAtEnd.join(' ')} at end (the run itself adds ~2)${quiet ? '' : ' — **the machine was busy with other work; treat absolute numbers as noisy**'}
${e.setup.split('\n').map((l) => `- ${l}`).join('\n')}

${e.tableText}

${e.goals}
${e.notes.length > 0 ? `\n${e.notes.map((n) => `- Note: ${n}`).join('\n')}\n` : ''}
Raw data: \`${e.jsonFile}\` (not committed).
`;
  appendFileSync(file, text);
}

/** Top functions of each profile, restricted to the measured windows (start-up and warm-up left out). */
function summarizeProfiles(dir: string, windows: readonly (readonly [number, number])[]): string {
  if (!existsSync(dir)) return '';
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  return files.map((f) => `${f} (measured windows only)\n${formatTop(topFunctions(join(dir, f), 30, windows))}`).join('\n\n');
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
  process.on('uncaughtException', (err) => {
    log(`error: ${err.stack ?? err.message}`);
    procs.killAllNow();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    log(`error: ${(err as Error).stack ?? String(err)}`);
    procs.killAllNow();
    process.exit(1);
  });
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    log(`error: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
