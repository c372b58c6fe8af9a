// The L4 benchmark (benchmarks/l4.ts) end to end in a tiny mode: a few MiB per transfer
// and a few short connections through every proxy available here, checked byte for byte
// by the C load generator, and its JSON output parsed. Speed is not asserted (benchmarks
// measure it); what is asserted is that every target moved every byte, and that Sluice's
// splice target really spliced in the kernel while its pipe target did not.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import t from 'tap';
import { kernelSkipReason } from '../native/fixtures/helpers.js';

const root = resolve(import.meta.dirname, '../..');
const node = join(root, 'node_modules/.bin/node');

function loud(msg: string): void {
  const line = '!'.repeat(100);
  process.stderr.write(`\n${line}\n!!! ${msg}\n${line}\n\n`);
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function nginxHasStream(): boolean {
  const v = spawnSync('nginx', ['-V'], { encoding: 'utf8' });
  return /--with-stream(\s|$)/.test(`${v.stdout}${v.stderr}`) || existsSync('/usr/lib/nginx/modules/ngx_stream_module.so');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = net.createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
}

/** A base port whose whole layout (base+0..+49) is free right now. */
async function portBase(): Promise<number> {
  const offsets = [0, 1, 10, 11, 19, 20, 21, 29, 30, 31, 40, 41];
  for (let i = 0; i < 20; i++) {
    const base = 20000 + 100 * Math.floor(Math.random() * 90);
    let free = true;
    for (const o of offsets) free &&= await portFree(base + o);
    if (free) return base;
  }
  throw new Error('no free port range');
}

interface Result {
  runs: Array<{ target: string; kind: string; ok: boolean; bytes: number; error: string; kernelBytes?: number; count?: number; failed?: number; proxyCpuS?: number; totalCpuS: number }>;
  summaries: Array<{ target: string; kinds: Record<string, { rate: number; runs: number }> }>;
  goals: Array<{ label: string; value?: number; met?: boolean }>;
  relayCounts: Record<string, { kernel: number; userspace: number }>;
  problems: string[];
  startErrors: Record<string, string>;
  machine: { uname: string; cpuModel: string };
}

t.test('bench:l4 in tiny mode: every target moves every byte, output parses', async (t) => {
  t.setTimeout(300_000);
  if (!has('cc')) {
    loud('SKIPPING the L4 benchmark test: no C compiler (apt-get install gcc)');
    t.pass('skipped: no cc', { skip: 'no cc' });
    return;
  }
  const targets = ['sluice-pipe', 'direct'];
  const splice = kernelSkipReason() === null;
  if (splice) targets.push('sluice-splice');
  else loud('the L4 benchmark test runs without the sluice-splice target (see above)');
  if (has('haproxy')) targets.push('haproxy');
  else loud('SKIPPING haproxy in the L4 benchmark test: apt-get install haproxy');
  if (has('nginx') && nginxHasStream()) targets.push('nginx');
  else loud('SKIPPING nginx in the L4 benchmark test: apt-get install nginx libnginx-mod-stream');

  const dir = mkdtempSync(join(tmpdir(), 'sluice-l4bench-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const json = join(dir, 'result.json');
  const mib = 4;
  const conns = 40;
  const env = {
    ...process.env,
    BENCH_L4_MIB: String(mib),
    BENCH_L4_REPEATS: '1',
    BENCH_L4_CONNS: String(conns),
    BENCH_L4_WARMUP_MIB: '0',
    BENCH_L4_DEADLINE_S: '240',
    BENCH_RECORD: '0',
    BENCH_ONLY: targets.join(','),
    BENCH_PORT_BASE: String(await portBase()),
    BENCH_L4_OUT: dir,
    BENCH_L4_JSON: json,
  };
  const child = spawn(node, [join(root, 'benchmarks/l4.ts')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', (c) => done(c)));
  t.equal(code, 0, `bench:l4 exits 0\n${stdout}\n${stderr.slice(-3000)}`);
  t.match(stdout, /\| target \| transfer \| GiB\/s/, 'prints the transfer table');
  t.match(stdout, /\| target \| connections\/s/, 'prints the connection-rate table');

  const r = JSON.parse(readFileSync(json, 'utf8')) as Result;
  t.same(r.problems, [], 'no problems recorded');
  t.same(r.startErrors, {}, 'every target started');
  t.match(r.machine.uname, /^Linux /);
  for (const target of targets) {
    for (const kind of ['oneway', 'echo', 'rate']) {
      const run = r.runs.find((x) => x.target === target && x.kind === kind);
      t.ok(run?.ok, `${target} ${kind} ok ${run?.error ?? 'missing'}`);
      if (kind === 'rate') t.equal(run?.failed, 0, `${target}: no failed connection`);
      else t.equal(run?.bytes, mib * 2 ** 20, `${target} ${kind}: every byte arrived (checked byte for byte)`);
      if (target !== 'direct') t.type(run?.proxyCpuS, 'number', `${target} ${kind}: proxy CPU measured`);
      t.ok(run !== undefined && run.totalCpuS >= (run.proxyCpuS ?? 0), `${target} ${kind}: the total CPU includes the proxy's`);
    }
    t.ok(r.summaries.find((s) => s.target === target)?.kinds.oneway?.rate! > 0, `${target} has a one-way median`);
  }
  t.equal(r.goals.length, 6, 'the six goal ratios are reported');

  const pipe = r.runs.find((x) => x.target === 'sluice-pipe' && x.kind === 'oneway');
  t.equal(pipe?.kernelBytes, 0, '--ebpf off splices nothing');
  t.equal(r.relayCounts['sluice-pipe']?.kernel, 0);
  t.ok(r.relayCounts['sluice-pipe']?.userspace >= conns, 'the pipe target relayed every connection in userspace');
  if (splice) {
    const one = r.runs.find((x) => x.target === 'sluice-splice' && x.kind === 'oneway');
    const echo = r.runs.find((x) => x.target === 'sluice-splice' && x.kind === 'echo');
    t.ok(one?.kernelBytes! >= mib * 2 ** 20, 'one-way bytes went through the kernel');
    t.ok(echo?.kernelBytes! >= 2 * mib * 2 ** 20, 'echo bytes (both directions) went through the kernel');
    t.equal(r.relayCounts['sluice-splice']?.userspace, 0, '--ebpf on relayed nothing in userspace');
    const measured = r.goals.filter((g) => targets.includes('haproxy') || !g.label.includes('HAProxy'));
    t.ok(measured.every((g) => typeof g.value === 'number'), 'the goal ratios of the measured targets have values');
  }
});
