/**
 * Child processes of one benchmark run: spawned (optionally pinned with taskset) in their
 * own process group, recorded in a pid file, and always killed on the way out.
 *
 * Every process this module starts is a group leader (`detached: true`), so killing the
 * group also takes nginx/HAProxy workers with it. Nothing here ever signals a process it
 * did not start: the pid file only lists our own groups, and a stale entry is only killed
 * when its command line still names the run directory it was started for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SpawnSpec {
  /** Short label, used for log file names and messages. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** CPU list for taskset (e.g. "0"); undefined runs unpinned. */
  readonly cpus?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where stdout goes: a file path, or "ignore" for /dev/null (the default). */
  readonly stdout?: string | 'ignore';
}

export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  readonly logFile: string;
}

export class ProcessSet {
  readonly #running = new Map<number, Managed>();
  readonly #pidFile: string;
  readonly #logDir: string;
  readonly #marker: string;

  /**
   * @param pidFile file that records the groups of the current run (reaped by the next run if we crash)
   * @param logDir directory for per-process stderr/stdout logs
   * @param marker a string every command line of this run contains (the run directory)
   */
  constructor(pidFile: string, logDir: string, marker: string) {
    this.#pidFile = pidFile;
    this.#logDir = logDir;
    this.#marker = marker;
  }

  start(spec: SpawnSpec): Managed {
    const logFile = `${this.#logDir}/${spec.name}.log`;
    const errFd = openSync(logFile, 'a');
    const outFd = spec.stdout === undefined || spec.stdout === 'ignore' ? 'ignore' : openSync(spec.stdout, 'a');
    const [command, args] =
      spec.cpus === undefined ? [spec.command, spec.args] : ['taskset', ['-c', spec.cpus, spec.command, ...spec.args]];
    const child = spawn(command, args as string[], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', outFd, errFd],
    });
    closeSync(errFd);
    if (typeof outFd === 'number') closeSync(outFd);
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${command})`);
    const pid = child.pid;
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        this.#running.delete(pid);
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', (err) => {
        this.#running.delete(pid);
        resolve(`error: ${err.message}`);
      });
    });
    const managed: Managed = { name: spec.name, pid, child, exited, logFile };
    this.#running.set(pid, managed);
    appendFileSync(this.#pidFile, `${pid} ${this.#marker}\n`);
    return managed;
  }

  /** SIGTERM the group, wait up to graceMs, then SIGKILL it. */
  async stop(proc: Managed, graceMs = 3000): Promise<void> {
    if (!this.#running.has(proc.pid)) return;
    signalGroup(proc.pid, 'SIGTERM');
    const gone = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]);
    // The leader may be gone while workers linger; the group kill covers both cases.
    signalGroup(proc.pid, 'SIGKILL');
    if (!gone) await Promise.race([proc.exited, sleep(1000)]);
  }

  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all([...this.#running.values()].map((p) => this.stop(p, graceMs)));
    this.#forgetPidFile();
  }

  /** Synchronous last resort for process 'exit' handlers: SIGKILL every group we started. */
  killAllNow(): void {
    for (const pid of this.#running.keys()) signalGroup(pid, 'SIGKILL');
    this.#running.clear();
    this.#forgetPidFile();
  }

  /** Number of processes still alive. */
  get size(): number {
    return this.#running.size;
  }

  #forgetPidFile(): void {
    rmSync(this.#pidFile, { force: true });
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Kill the groups a previous, crashed run left behind (listed in its pid file), but only
 * those whose leader's command line still contains that run's marker, so a recycled pid
 * belonging to someone else is never touched.
 */
export function reapStale(pidFile: string): number {
  if (!existsSync(pidFile)) return 0;
  let killed = 0;
  for (const line of readFileSync(pidFile, 'utf8').split('\n')) {
    const space = line.indexOf(' ');
    if (space < 0) continue;
    const pid = Number(line.slice(0, space));
    const marker = line.slice(space + 1);
    if (!Number.isInteger(pid) || pid <= 1 || marker === '') continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (!cmdline.includes(marker)) continue;
    signalGroup(pid, 'SIGKILL');
    killed++;
  }
  rmSync(pidFile, { force: true });
  return killed;
}
