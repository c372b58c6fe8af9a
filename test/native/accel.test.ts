/**
 * EXPERIMENTAL sock_ops + sk_msg same-node acceleration, in a child process
 * placed in a temporary cgroup v2 directory (so nothing else on the machine is
 * affected). Root only; skipped loudly otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ownCgroupPath } from '../../src/native/accel.js';
import { kernelSkipReason } from './fixtures/helpers.js';

const child = fileURLToPath(new URL('./fixtures/child.ts', import.meta.url));
const cgroupRoot = ownCgroupPath();
const skip = kernelSkipReason() ?? (cgroupRoot ? null : 'no cgroup v2 hierarchy');

if (skip) {
  t.pass(`skipped: ${skip}`, { skip });
} else {
  t.test('sk_msg moves bytes between local sockets on allowed ports only; splicing steps aside', async (t) => {
    const dir = path.join(cgroupRoot!, `sluice-accel-test-${process.pid}`);
    mkdirSync(dir);
    t.teardown(() => {
      if (existsSync(dir)) rmdirSync(dir);
    });
    // The shell joins the cgroup, then becomes the child: only it and its sockets are affected.
    const quoted = [process.execPath, ...process.execArgv, child, 'accel'].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const run = spawnSync('sh', ['-c', `echo $$ > '${dir}/cgroup.procs' && exec ${quoted}`], { encoding: 'utf8', timeout: 120_000 });
    const line = run.stdout.trim().split('\n').pop() ?? '';
    type Counters = { inserted: number; bytesRedirected: number };
    let out: {
      started: { ok: boolean; reason: string };
      fastOk: boolean;
      slowOk: boolean;
      proxiedOk: boolean;
      proxiedPath: string;
      spliceEnabled: boolean;
      s0: Counters;
      s1: Counters;
      s2: Counters;
      s3: Counters;
      stopped: unknown;
    };
    try {
      out = JSON.parse(line);
    } catch {
      t.fail(`child failed (status ${run.status}): ${run.stdout}\n${run.stderr}`);
      return;
    }
    t.ok(out.started.ok, `started: ${out.started.reason}`);
    t.ok(out.fastOk, '64 MiB echoed intact on the accelerated port');
    t.ok(out.s1.inserted - out.s0.inserted >= 2, 'both ends of the connection were inserted by sock_ops');
    t.ok(out.s1.bytesRedirected - out.s0.bytesRedirected >= 2 * (64 << 20), 'sk_msg redirected the bytes of both directions');
    t.ok(out.slowOk, 'a port outside the allow-list still works');
    t.equal(out.s2.inserted, out.s1.inserted, '... and is not accelerated');
    t.ok(out.spliceEnabled, 'splicing was on');
    t.ok(out.proxiedOk, 'a proxied connection to the accelerated port works');
    t.equal(out.proxiedPath, 'userspace', 'splice() refused the accelerated socket (EBUSY) and the pair was piped');
    t.ok(out.s3.bytesRedirected > out.s2.bytesRedirected, 'the piped upstream hop was accelerated');
    t.same(out.stopped, { active: false }, 'stopped');
  });
}
