/** What the numbers were measured on, and the Debian tools the runner installs when missing. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg, totalmem } from 'node:os';

export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly kernel: string;
  readonly node: string;
  readonly memGiB: number;
  readonly packages: Record<string, string>;
  readonly gitCommit: string;
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function cpuModel(): string {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string): string => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '?';
  return `${field('model name')} (family ${field('cpu family')}, model ${field('model')})`;
}

export function machineInfo(nodeBin: string, debs: readonly string[]): MachineInfo {
  const packages: Record<string, string> = {};
  for (const p of debs) packages[p] = run('dpkg-query', ['-W', '-f', '${Version}', p]) || 'not installed';
  return {
    nproc: Number(run('nproc', [])) || 0,
    cpuModel: cpuModel(),
    kernel: run('uname', ['-r']),
    node: run(nodeBin, ['--version']),
    memGiB: Math.round(totalmem() / 2 ** 30),
    packages,
    gitCommit: run('git', ['rev-parse', '--short', 'HEAD']),
  };
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = loadavg();
  return [round2(a), round2(b), round2(c)];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Which of the commands are missing from PATH. */
export function missingCommands(commands: readonly string[]): string[] {
  return commands.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' }).status !== 0);
}

/**
 * apt-get install the packages that provide missing commands. Needs root; bounded by a timeout.
 * Returns a message for the log, or throws when installing is impossible.
 */
export function ensureDebianPackages(needed: Record<string, string>, log: (msg: string) => void): void {
  const missing = missingCommands(Object.keys(needed));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map((c) => needed[c]))];
  if (process.getuid?.() !== 0) {
    throw new Error(`missing ${missing.join(', ')}: run as root or apt-get install -y ${pkgs.join(' ')}`);
  }
  log(`installing ${pkgs.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // The package lists may be stale or absent on a fresh machine: update once, then install.
  const opts = { stdio: 'inherit' as const, env, timeout: 300_000 };
  let r = spawnSync('apt-get', ['install', '-y', '-q', ...pkgs], opts);
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], opts);
    r = spawnSync('apt-get', ['install', '-y', '-q', ...pkgs], opts);
  }
  const still = missingCommands(missing);
  if (still.length > 0) throw new Error(`apt-get could not provide ${still.join(', ')}`);
}
