/**
 * Capabilities and lifetime, with real child processes (root needed to drop
 * privileges with setpriv and to load programs).
 *   - as nobody without capabilities: probe() reports EPERM, never throws,
 *     and --ebpf=auto falls back while --ebpf=on refuses to start;
 *   - as nobody with ambient CAP_BPF + CAP_NET_ADMIN: splicing works;
 *   - the programs disappear when the process dies (bpf_link, unpinned maps).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadAddon } from '../../src/native/addon.js';
import { kernelSkipReason, waitFor } from './fixtures/helpers.js';

const child = fileURLToPath(new URL('./fixtures/child.ts', import.meta.url));
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;

const skip = kernelSkipReason() ?? (hasSetpriv ? null : 'setpriv (util-linux) is missing');
if (skip) {
  t.pass(`skipped: ${skip}`, { skip });
} else {
  const asNobody = (caps: string[], command: string) => {
    const capArgs = caps.length
      ? [`--inh-caps=${caps.map((c) => `+${c}`).join(',')}`, `--ambient-caps=${caps.map((c) => `+${c}`).join(',')}`]
      : ['--inh-caps=-all', '--bounding-set=-all'];
    const run = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', ...capArgs, process.execPath, ...process.execArgv, child, command],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: '/tmp' } },
    );
    const line = run.stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(line) as { probe: { ok: boolean; code: string }; enabled: boolean; reason: string; onError: string };
    } catch {
      throw new Error(`child failed (status ${run.status}): ${run.stdout}\n${run.stderr}`);
    }
  };

  t.test('without CAP_BPF/CAP_NET_ADMIN: probe says EPERM, auto falls back, on refuses', async (t) => {
    const out = asNobody([], 'engine');
    t.equal(out.probe.ok, false);
    t.equal(out.probe.code, 'EPERM');
    t.equal(out.enabled, false, 'auto mode runs without splicing');
    t.match(out.reason, /CAP_BPF/);
    t.equal(out.onError, 'ERR_SLUICE_SPLICE_UNAVAILABLE');
  });

  t.test('with only CAP_BPF + CAP_NET_ADMIN (as nobody): splicing works', async (t) => {
    const out = asNobody(['bpf', 'net_admin'], 'engine');
    t.equal(out.probe.ok, true);
    t.equal(out.enabled, true, `self-test passed: ${out.reason}`);
  });

  t.test('the programs go away when the process is killed', async (t) => {
    const addon = loadAddon()!;
    const proc = spawn(process.execPath, [...process.execArgv, child, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => {
      proc.kill('SIGKILL');
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      proc.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const info = JSON.parse(line) as { enabled: boolean; spliced: boolean; programIds: number[]; attach: string };
    t.ok(info.enabled && info.spliced, 'the child spliced a live pair');
    t.equal(info.programIds.length, 2);
    t.ok(info.programIds.every((id) => addon.programExists(id)), 'its programs exist while it runs');
    proc.kill('SIGKILL');
    await waitFor(() => info.programIds.every((id) => !addon.programExists(id)), 10_000, 'the programs to be freed');
    t.pass(`programs ${info.programIds.join(', ')} (${info.attach}) were freed after SIGKILL`);
  });
}
