/** Build dist/ before a benchmark when it is missing or older than src/. */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

function newestMtime(dir: string, suffix: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith(suffix)) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** tsc errors in unrelated folders still emit, so only a missing dist/cli/main.js is fatal. */
export function ensureBuilt(root: string, log: (msg: string) => void): void {
  const main = join(root, 'dist/cli/main.js');
  if (existsSync(main) && newestMtime(join(root, 'dist'), '.js') >= newestMtime(join(root, 'src'), '.ts')) return;
  log('building dist/ (npx tsc -p .)');
  const r = spawnSync(join(root, 'node_modules/.bin/tsc'), ['-p', root], { stdio: 'inherit', timeout: 300_000 });
  if (!existsSync(main)) throw new Error(`build failed (tsc exit ${r.status}); dist/cli/main.js is missing`);
  if (r.status !== 0) log('tsc reported errors; using what it emitted');
}
