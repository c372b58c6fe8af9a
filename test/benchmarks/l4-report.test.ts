import t from 'tap';
import { bytesPerCpu, CPU_TICK_S, goalLines, l4Goals, l4Tables, sameRepeatRatio, summarizeL4, throughput, type L4Run } from '../../benchmarks/l4/report.ts';
import { metricSum } from '../../benchmarks/l4/prom.ts';
import { cpuUse, sampleCpu } from '../../benchmarks/l4/cpu.ts';

const GIB = 2 ** 30;

function run(repeat: number, target: string, kind: L4Run['kind'], seconds: number, proxyCpuS: number | undefined, extra: Partial<L4Run> = {}): L4Run {
  return {
    repeat, target, kind, ok: true, error: '', bytes: kind === 'rate' ? 1000 : GIB, seconds, proxyCpuS, command: 'l4load',
    clientCpuS: 0.25, backendCpuS: 0.25, kthreadCpuS: 0, softirqS: 0.5, totalCpuS: 1 + (proxyCpuS ?? 0), systemCpuS: 2,
    ...(kind === 'rate' ? { count: 1000, failed: 0, p50Ms: 1, p99Ms: 2 } : {}),
    ...extra,
  };
}

t.test('throughput and bytes per CPU: echo counts both directions through the proxy; under a tick counts as one', async (t) => {
  t.equal(throughput(run(1, 'x', 'oneway', 2, 1)), GIB / 2);
  t.equal(bytesPerCpu(run(1, 'x', 'oneway', 2, 0.5)), 2 * GIB);
  t.equal(bytesPerCpu(run(1, 'x', 'echo', 2, 0.5)), 4 * GIB);
  t.equal(bytesPerCpu(run(1, 'x', 'oneway', 2, 0)), GIB / CPU_TICK_S);
  t.equal(bytesPerCpu(run(1, 'x', 'oneway', 2, undefined)), undefined);
});

t.test('goals: same-repeat medians, failed runs left out, both senses', async (t) => {
  const runs: L4Run[] = [];
  for (const [rep, spliceS, pipeS] of [[1, 1, 3], [2, 1, 2], [3, 1, 2.5]] as const) {
    for (const kind of ['oneway', 'echo'] as const) {
      runs.push(run(rep, 'sluice-splice', kind, spliceS, 0.02));
      runs.push(run(rep, 'sluice-pipe', kind, pipeS, 1));
      runs.push(run(rep, 'haproxy', kind, 1.5, 0.5));
    }
  }
  runs.push(run(4, 'sluice-splice', 'oneway', 100, 50, { ok: false, error: 'boom' }));
  runs.push(run(4, 'sluice-pipe', 'oneway', 1, 1));
  t.equal(sameRepeatRatio(runs, 'oneway', 'sluice-pipe', 'sluice-splice', throughput), 0.4, 'median of 1/3, 1/2, 1/2.5');
  const goals = l4Goals(runs);
  t.equal(goals.length, 6);
  t.equal(goals[0].value, 2.5);
  t.equal(goals[0].met, true);
  t.equal(goals[2].value, 0.02);
  t.equal(goals[2].met, true, 'CPU ratio must be under 0.1');
  t.equal(goals[4].value, 25, 'splice bytes per CPU-s / HAProxy: (1/0.02)/(1/0.5)');
  t.match(goalLines(goals), /oneway: Sluice splice \/ pipe throughput: 2\.500 \(target ≥ 2: met\)/);
  const none = l4Goals(runs.filter((r) => r.target !== 'haproxy'));
  t.equal(none[4].value, undefined);
  t.match(goalLines(none), /not measured/);
});

t.test('summary and tables', async (t) => {
  const runs = [run(1, 'direct', 'oneway', 0.5, undefined), run(2, 'direct', 'oneway', 1, undefined), run(1, 'direct', 'rate', 0.5, undefined), run(1, 'nginx', 'rate', 1, 0.25)];
  const s = summarizeL4(runs, ['direct', 'nginx']);
  t.equal(s[0].kinds.oneway?.rate, 1.5 * GIB, 'median of 2 and 1 GiB/s');
  t.equal(s[0].kinds.rate?.rate, 2000);
  t.equal(s[1].kinds.rate?.perCpuS, 4000, 'connections per proxy CPU-s');
  const text = l4Tables(s, 2);
  t.match(text, /\| direct \| one-way \| 1\.50 \| 1\.00–2\.00 \| – \| – \| 1\.00 \| 0\.50 \| – \| – \|/);
  const withProxy = [...runs, run(1, 'nginx', 'oneway', 1, 0.5)];
  const n = summarizeL4(withProxy, ['nginx'])[0].kinds.oneway;
  t.equal(n?.addedCpuS, 0.5, 'all CPU 1.5 against direct 1.0 in the same repeat');
  t.equal(n?.perAddedCpuS, 2 * GIB);
  t.match(text, /\| nginx \| 1,000 \| 1,000–1,000 \| 1\.00 \| 2\.00 \| 0\.25 \| 4,000 \|/);
});

t.test('metricSum adds a metric over its label sets and ignores longer names', async (t) => {
  const text = [
    '# HELP sluice_splice_bytes_total x',
    'sluice_splice_bytes_total{direction="client_to_backend"} 100',
    'sluice_splice_bytes_total{direction="backend_to_client"} 23',
    'sluice_splice_bytes_total_other 5',
    'sluice_splice_enabled 1',
  ].join('\n');
  t.equal(metricSum(text, 'sluice_splice_bytes_total'), 123);
  t.equal(metricSum(text, 'sluice_splice_enabled'), 1);
  t.equal(metricSum(text, 'absent'), undefined);
});

t.test('CPU of a transfer: sampling this machine, and the total of the parts', async (t) => {
  const a = sampleCpu(process.pid, process.pid);
  t.type(a.proxy, 'number');
  t.ok(a.kthreads >= 0 && a.softirq >= 0 && a.busy > 0 && a.client >= 0, 'every part read');
  t.equal(sampleCpu(undefined, process.pid).proxy, undefined, 'no proxy for direct');
  const u = cpuUse(
    { proxy: 1, backend: 2, client: 3, kthreads: 4, softirq: 5, busy: 10 },
    { proxy: 1.5, backend: 2.25, client: 3.5, kthreads: 4.25, softirq: 6, busy: 15 },
  );
  t.same(u, { proxyCpuS: 0.5, clientCpuS: 0.5, backendCpuS: 0.25, kthreadCpuS: 0.25, softirqS: 1, totalCpuS: 2.5, systemCpuS: 5 });
});
