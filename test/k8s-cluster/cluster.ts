// Test helper: a real control plane (etcd, kube-apiserver, kube-controller-manager, Gateway API
// v1.6.1 CRDs) started by test/cluster/up and stopped by test/cluster/down. No mocks.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const clusterScripts = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'cluster');

export type ClusterComponent = 'etcd' | 'kube-apiserver' | 'kube-controller-manager';

export interface TestCluster {
  /** Admin kubeconfig (client certificate in system:masters). */
  kubeconfig: string;
  /** Temp dir holding the kubeconfig, pki/ (ca.crt, ca.key, ...), logs and pid files. */
  dir: string;
  /** https://127.0.0.1:<port> */
  apiserverUrl: string;
  /** Directory of the built binaries (etcd, kube-apiserver, kube-controller-manager, helm). */
  binDir: string;
  /** Path of the helm binary built with the cluster. */
  helm: string;
  /** Restart one component with its original flags; resolves once it serves again. */
  restart(component: ClusterComponent): Promise<void>;
  /** Stop every process and remove the temp dir. Safe to call more than once. */
  stop(): Promise<void>;
}

// Plain fields rather than parameter properties: this file stays runnable by Node's built-in
// type stripping (e.g. `node test/k8s-cluster/cluster.ts` from a harness script).
export class ClusterScriptError extends Error {
  readonly code = 'E_TEST_CLUSTER';
  readonly script: string;
  readonly exitCode: number | null;
  readonly stderrTail: string;
  constructor(script: string, exitCode: number | null, stderrTail: string) {
    super(`test/cluster/${script} failed (exit ${exitCode}):\n${stderrTail}`);
    this.name = 'ClusterScriptError';
    this.script = script;
    this.exitCode = exitCode;
    this.stderrTail = stderrTail;
  }
}

/** True when a `go` toolchain is on PATH (needed to build the cluster binaries). */
export function goAvailable(): boolean {
  const r = spawnSync('go', ['version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** True when the binaries for the pinned versions are already built (a warm start). */
export function clusterBinariesCached(): boolean {
  return spawnSync(join(clusterScripts, 'build'), ['--check'], { stdio: 'ignore' }).status === 0;
}

interface ScriptResult {
  stdout: string;
}

export interface StartClusterOptions {
  /** Extra kube-apiserver flags, appended after (so overriding) the defaults in test/cluster/up. */
  apiserverFlags?: string[];
  /** Extra kube-controller-manager flags, appended after the defaults. */
  kcmFlags?: string[];
  /** Replaces the default kcm controller list (names as in `kube-controller-manager --help`). */
  kcmControllers?: string[];
}

function runScript(
  script: string,
  args: string[],
  progress: boolean,
  extraEnv: Record<string, string> = {},
): Promise<ScriptResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(clusterScripts, script), args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // up starts a watchdog that stops the cluster if this process dies without stop().
      env: { ...process.env, ...extraEnv, SLUICE_CLUSTER_OWNER_PID: String(process.pid) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-8000);
      // Progress lines of a cold build would otherwise be invisible for many minutes.
      if (progress) process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise({ stdout });
      else reject(new ClusterScriptError(script, code, stderr));
    });
  });
}

function readEnvFile(path: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return env;
}

/**
 * Start a fresh cluster (building the binaries first if they are not cached; a cold build
 * takes many minutes). Set SLUICE_CLUSTER_VERBOSE=1 to see the start-up progress.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const verbose = process.env.SLUICE_CLUSTER_VERBOSE === '1' || !clusterBinariesCached();
  const env: Record<string, string> = {};
  if (options.apiserverFlags) env.SLUICE_CLUSTER_APISERVER_FLAGS = options.apiserverFlags.join(' ');
  if (options.kcmFlags) env.SLUICE_CLUSTER_KCM_FLAGS = options.kcmFlags.join(' ');
  if (options.kcmControllers) env.SLUICE_CLUSTER_KCM_CONTROLLERS = options.kcmControllers.join(',');
  const { stdout } = await runScript('up', [], verbose, env);
  const lines = stdout.trim().split('\n');
  const kubeconfig = lines[lines.length - 1]!;
  const dir = dirname(kubeconfig);
  const clusterEnv = readEnvFile(join(dir, 'env'));
  let stopped: Promise<void> | undefined;
  return {
    kubeconfig,
    dir,
    apiserverUrl: clusterEnv.get('APISERVER_URL') ?? '',
    binDir: clusterEnv.get('SLUICE_CLUSTER_BIN') ?? '',
    helm: clusterEnv.get('HELM') ?? '',
    async restart(component: ClusterComponent): Promise<void> {
      await runScript('restart', [kubeconfig, component], verbose);
    },
    stop(): Promise<void> {
      stopped ??= runScript('down', [kubeconfig], verbose).then(() => undefined);
      return stopped;
    },
  };
}
