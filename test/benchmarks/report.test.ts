import t from 'tap';
import { checkRatios, median, summarize, table, type RunRecord } from '../../benchmarks/lib/report.ts';
import { summarizeProfile } from '../../benchmarks/tools/cpuprofile-top.ts';

function rec(round: number, target: string, rps: number, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    round, target, startedAt: '', loadAvg: [0, 0, 0], metrics: { rps, p50Ms: 1, p99Ms: 2 }, cpuBusy: [1, 0.5],
    targetCpu: 1, command: 'wrk', rawFile: '', problems: [], warnings: [], ...extra,
  };
}

t.test('median', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 2, 3]), 2.5);
  t.ok(Number.isNaN(median([])));
});

t.test('ratios are medians of same-round ratios, invalid runs left out', async (t) => {
  const records = [
    rec(1, 'nginx', 100), rec(1, 'sluice', 50),
    rec(2, 'nginx', 200), rec(2, 'sluice', 120),
    rec(3, 'nginx', 100), rec(3, 'sluice', 10, { problems: ['socket errors'] }),
  ];
  const s = summarize(records, ['sluice', 'nginx'], 'rps');
  const sluice = s.find((x) => x.target === 'sluice')!;
  t.equal(sluice.runs, 2);
  t.equal(sluice.median.rps, 85);
  t.equal(sluice.ratioTo.nginx, 0.55);
  const goals = checkRatios(s, [{ label: 'S/N', numerator: 'sluice', denominator: 'nginx', goal: 0.5 }, { label: 'S/X', numerator: 'sluice', denominator: 'x', goal: 1 }]);
  t.equal(goals[0].met, true);
  t.equal(goals[1].value, undefined);
  const text = table(s, { columns: [{ key: 'rps', header: 'req/s', digits: 0 }], primary: 'rps', ratioColumns: ['nginx'], proxyCpus: '0', loadCpus: '1', rounds: 3 });
  t.match(text, /\| sluice \| 85 \| 50–120 \|/);
});

t.test('profile summary: self and total time, windows', async (t) => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0 });
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
      { id: 2, callFrame: frame('handle', 'file:///x/dist/dataplane/proxy.js'), children: [3] },
      { id: 3, callFrame: frame('dispatch', 'file:///x/node_modules/undici/lib/a.js') },
      { id: 4, callFrame: frame('(idle)', '') },
    ],
    startTime: 1000,
    endTime: 1400,
    samples: [3, 2, 3, 4],
    timeDeltas: [100, 100, 100, 100],
  };
  const all = summarizeProfile(profile);
  const handle = all.functions.find((f) => f.name === 'handle')!;
  t.equal(handle.area, 'sluice dataplane');
  t.equal(handle.totalMs, 0.3);
  t.equal(all.areas.find((a) => a.area === 'undici')?.selfMs, 0.2);
  const windowed = summarizeProfile(profile, [[1150, 1250]]);
  t.equal(windowed.sampledMs, 0.1);
  t.equal(windowed.functions.find((f) => f.name === 'handle')?.selfMs, 0.1);
});
