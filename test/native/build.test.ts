/**
 * Build plumbing: the committed BPF object is fresh (bpf/check-fresh, needs
 * clang), and the install script never fails `npm install` when the addon
 * cannot be built. The install check runs in a scratch copy so it never
 * touches the addon the other tests use.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = fileURLToPath(new URL('../../', import.meta.url));
const hasClang = spawnSync('clang', ['--version']).status === 0 && spawnSync('llvm-strip', ['--version']).status === 0;

t.test('the committed bpf/*.bpf.o matches its source (bpf/check-fresh)', { skip: hasClang ? false : 'clang/llvm not installed (apt-get install clang llvm libbpf-dev)' }, async (t) => {
  const run = spawnSync(path.join(root, 'bpf/check-fresh'), { encoding: 'utf8' });
  t.equal(run.status, 0, `${run.stdout}${run.stderr}`);
  t.match(run.stdout, /fresh: bpf\/splice\.bpf\.o/);
});

t.test('check-fresh notices a stale object', { skip: hasClang ? false : 'clang/llvm not installed' }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bpf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(root, 'bpf'), path.join(dir, 'bpf'), { recursive: true });
  // The source changed but the object was not rebuilt.
  spawnSync('sed', ['-i', 's/count(SLUICE_COUNTER_ZERO_LEN, 1);/count(SLUICE_COUNTER_ZERO_LEN, 2);/', path.join(dir, 'bpf/splice.bpf.c')]);
  const run = spawnSync(path.join(dir, 'bpf/check-fresh'), { encoding: 'utf8' });
  t.equal(run.status, 1, 'stale');
  t.match(run.stderr, /STALE: bpf\/splice\.bpf\.o/);
});

t.test('npm install survives a failed addon build with one clear line', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-install-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true, filter: (src) => !src.includes(`${path.sep}build`) });
  cpSync(path.join(root, 'bpf'), path.join(dir, 'bpf'), { recursive: true });
  cpSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const env = { ...process.env, CXX: '/bin/false', CC: '/bin/false', SLUICE_NODE_HEADERS_FETCH: '0' };
  const run = spawnSync(process.execPath, [path.join(dir, 'native/install.mjs')], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
  t.equal(run.status, 0, 'exit status 0: npm install goes on');
  const lines = run.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  t.match(lines[0], /^sluice: native sockmap addon not built \(.+\); L4 splicing is off and Sluice uses userspace piping/);
  t.notOk(existsSync(path.join(dir, 'native/build/Release/sluice_native.node')));

  const strict = spawnSync(process.execPath, [path.join(dir, 'native/install.mjs'), '--strict'], { cwd: dir, env, encoding: 'utf8', timeout: 300_000 });
  t.equal(strict.status, 1, 'build:native (--strict) fails loudly instead');

  const skipped = spawnSync(process.execPath, [path.join(dir, 'native/install.mjs')], { cwd: dir, env: { ...env, SLUICE_SKIP_NATIVE_BUILD: '1' }, encoding: 'utf8' });
  t.equal(skipped.status, 0);
  t.match(skipped.stdout, /SLUICE_SKIP_NATIVE_BUILD=1/);
});
