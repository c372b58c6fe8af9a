import t, { type Test } from 'tap';
import { once } from 'node:events';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../../src/errors.js';
import { ConfigWatcher, loadConfig, watchConfig, YamlSyntaxError, type LoadResult, type WatchOptions } from '../../../src/sources/file/index.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-watch-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const service = (name: string, port = 80): string => `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  ports: [{ port: ${port} }]
`;

function serviceNames(r: LoadResult): string[] {
  return r.snapshot.services.map((s) => s.metadata!.name!);
}

/** Wait for one event, failing (not hanging) if it never comes. */
async function next<T extends unknown[]>(w: ConfigWatcher, event: 'load' | 'rejected', what: string): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no '${event}' event within 10s: ${what}`)), 10_000);
  try {
    return (await once(w, event, { signal: ac.signal })) as T;
  } finally {
    clearTimeout(timer);
  }
}

async function start(t: Test, path: string, opts: WatchOptions = {}): Promise<{ w: ConfigWatcher; loads: LoadResult[]; rejections: InputError[] }> {
  const loads: LoadResult[] = [];
  const rejections: InputError[] = [];
  const w = watchConfig(path, { debounceMs: 20, ...opts, onLoad: (r) => loads.push(r), onError: (e) => rejections.push(e) });
  t.teardown(() => w.close());
  await w.ready;
  return { w, loads, rejections };
}

t.test('reloads a file when it changes, and not when it does not', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, service('a'));
  const first = await loadConfig(file);
  const { w, loads } = await start(t, file, { baseline: first });

  await w.check();
  t.equal(loads.length, 0, 'the baseline is not reported again');

  const changed = next<[LoadResult]>(w, 'load', 'edit in place');
  await writeFile(file, service('b'));
  const [r] = await changed;
  t.same(serviceNames(r), ['b']);

  await writeFile(file, service('b'));
  await w.check();
  t.equal(loads.length, 1, 'rewriting identical content is not a change');
});

t.test('sees editors that save by writing a temp file and renaming it over PATH', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, service('a'));
  const { w } = await start(t, file, { pollMs: 0 });
  for (const name of ['b', 'c']) {
    const loaded = next<[LoadResult]>(w, 'load', `rename-replace to ${name}`);
    const tmp = join(dir, `.config.yaml.${name}.tmp`);
    await writeFile(tmp, service(name));
    await rename(tmp, file);
    const [r] = await loaded;
    t.same(serviceNames(r), [name], `second save still seen (${name})`);
  }
});

t.test('a YAML syntax error keeps the last good config; fixing it reloads', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, service('a'));
  const { w, loads } = await start(t, file);

  const rejected = next<[InputError, LoadResult | undefined]>(w, 'rejected', 'syntax error');
  await writeFile(file, `${service('b')}---\nkind: [broken\n`);
  const [err, failed] = await rejected;
  t.ok(err instanceof YamlSyntaxError, 'the error is the syntax error');
  t.match(err.message, `${file}:8:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]`);
  t.equal(failed?.complete, false);
  t.equal(loads.length, 0, 'no snapshot was emitted for the broken file');

  const fixed = next<[LoadResult]>(w, 'load', 'fix');
  await writeFile(file, service('c'));
  const [r] = await fixed;
  t.same(serviceNames(r), ['c']);
});

t.test('objects failing validation are dropped from a reload, the rest apply', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, service('a'));
  const { w } = await start(t, file);
  const loaded = next<[LoadResult]>(w, 'load', 'partly invalid edit');
  await writeFile(file, `${service('a')}---\n${service('bad', 0)}`);
  const [r] = await loaded;
  t.same(serviceNames(r), ['a']);
  t.equal(r.errors.length, 1);
  t.match(r.errors[0]!.message, 'Service default/bad: spec.ports[0].port');
});

t.test('a directory: new files, removed files and a replaced directory are seen', async (t) => {
  const base = await tempDir(t);
  const dir = join(base, 'conf');
  await mkdir(dir);
  await writeFile(join(dir, 'a.yaml'), service('a'));
  const { w } = await start(t, dir);

  let loaded = next<[LoadResult]>(w, 'load', 'new file');
  await writeFile(join(dir, 'b.yml'), service('b'));
  t.same(serviceNames((await loaded)[0]), ['a', 'b']);

  loaded = next<[LoadResult]>(w, 'load', 'removed file');
  await rm(join(dir, 'a.yaml'));
  t.same(serviceNames((await loaded)[0]), ['b']);

  // Replace the whole directory (what a ConfigMap volume or a deploy script may do).
  const staged = join(base, 'staged');
  await mkdir(staged);
  await writeFile(join(staged, 'c.yaml'), service('c'));
  loaded = next<[LoadResult]>(w, 'load', 'directory replaced');
  await rm(dir, { recursive: true });
  await rename(staged, dir);
  const [r] = await loaded;
  t.same(serviceNames(r), ['c']);

  loaded = next<[LoadResult]>(w, 'load', 'change inside the new directory');
  await writeFile(join(dir, 'd.yaml'), service('d'));
  t.same(serviceNames((await loaded)[0]), ['c', 'd']);
});

t.test('PATH disappearing is reported once and keeps the config; it coming back reloads', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, service('a'));
  const { w, rejections } = await start(t, file);

  const rejected = next<[InputError]>(w, 'rejected', 'file removed');
  await rm(file);
  const [err] = await rejected;
  t.match(err.message, /no such file or directory/);
  await w.check();
  t.equal(rejections.length, 1, 'the same failure is not reported again');

  const back = next<[LoadResult]>(w, 'load', 'file back');
  await writeFile(file, service('z'));
  t.same(serviceNames((await back)[0]), ['z']);
});

t.test('the poll alone notices changes when fs.watch is off', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, service('a'));
  const { w } = await start(t, file, { fsWatch: false, pollMs: 50 });
  const loaded = next<[LoadResult]>(w, 'load', 'poll');
  await writeFile(file, service('polled'));
  t.same(serviceNames((await loaded)[0]), ['polled']);
});

t.test('close() stops everything', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config.yaml');
  await writeFile(file, service('a'));
  const { w, loads } = await start(t, file);
  w.close();
  await writeFile(file, service('b'));
  await w.check();
  t.equal(loads.length, 0);
});
