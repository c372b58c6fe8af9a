// One pod on the fake node: its IP in the pod network, its volumes and environment, one local
// process per container (restarted with back-off, like restartPolicy Always), container logs,
// and the PodStatus a kubelet would report for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerLog } from './container-log.ts';
import { PodSpecError } from './errors.ts';
import { localProcessFor, type LocalProcess } from './images.ts';
import type { KubeApi } from './kube-api.ts';
import type { PodNetwork } from './netns.ts';
import { expandVars, materializeVolumes, NotYetAvailable, pathRewriter, resolveEnv, type Container, type Pod, type PodFacts } from './pod-spec.ts';

export type Logf = (msg: string, fields?: Record<string, unknown>) => void;

export interface SandboxDeps {
  readonly api: KubeApi;
  readonly network: PodNetwork;
  /** Repository root (for the stand-in programs). */
  readonly root: string;
  /** Parent directory of the per-pod directories. */
  readonly podsDir: string;
  readonly nodeName: string;
  readonly hostIP: string;
  readonly log: Logf;
  /** The pod's status changed; the kubelet writes it to the API. */
  readonly onChange: (sandbox: PodSandbox) => void;
}

type ContainerStateValue =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: { exitCode: number; signal?: number; reason: string; startedAt?: string; finishedAt: string; containerID?: string } };

interface ContainerRuntime {
  readonly spec: Container;
  readonly log: ContainerLog;
  proc?: LocalProcess;
  child?: ChildProcess;
  state: ContainerStateValue;
  lastState?: ContainerStateValue;
  restartCount: number;
  listening: number;
  ready: boolean;
  containerID?: string;
  restartTimer?: NodeJS.Timeout;
}

const LISTENING = /listening on/i;
const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export class PodSandbox {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly dir: string;
  pod: Pod;
  podIP?: string;
  readonly startTime = now();
  readonly #deps: SandboxDeps;
  readonly #containers = new Map<string, ContainerRuntime>();
  #stopping = false;
  #prepared = false;
  #conditionTimes = new Map<string, { status: string; time: string }>();

  constructor(pod: Pod, deps: SandboxDeps) {
    this.pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.namespace = pod.metadata.namespace ?? 'default';
    this.name = pod.metadata.name;
    this.#deps = deps;
    this.dir = join(deps.podsDir, `${this.namespace}_${this.name}_${this.uid}`);
    mkdirSync(join(this.dir, 'logs'), { recursive: true });
    for (const c of pod.spec.containers) {
      this.#containers.set(c.name, {
        spec: c,
        log: new ContainerLog(join(this.dir, 'logs', `${c.name}.log`)),
        state: { waiting: { reason: 'ContainerCreating' } },
        restartCount: 0,
        listening: 0,
        ready: false,
      });
    }
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  containerLog(name: string): ContainerLog | undefined {
    return this.#containers.get(name)?.log;
  }

  containerNames(): string[] {
    return [...this.#containers.keys()];
  }

  /** Allocate the IP, materialise volumes (retrying while Secrets/ConfigMaps are missing) and start every container. */
  async start(): Promise<void> {
    this.podIP = this.#deps.network.allocate();
    this.#deps.onChange(this);
    const facts: PodFacts = { podIP: this.podIP, hostIP: this.#deps.hostIP, nodeName: this.#deps.nodeName };
    let lastProblem = '';
    for (let attempt = 0; !this.#stopping; attempt++) {
      try {
        const volumes = await materializeVolumes(this.#deps.api, this.pod, facts, this.dir);
        const planned: Array<[ContainerRuntime, LocalProcess]> = [];
        for (const rt of this.#containers.values()) planned.push([rt, await this.#plan(rt.spec, facts, volumes)]);
        if (this.#stopping) return;
        this.#prepared = true;
        for (const [rt, proc] of planned) {
          rt.proc = proc;
          this.#spawn(rt);
        }
        return;
      } catch (err) {
        const fatal = err instanceof PodSpecError && !(err instanceof NotYetAvailable);
        const message = err instanceof Error ? err.message : String(err);
        if (message !== lastProblem) {
          this.#deps.log('pod not startable yet', { pod: `${this.namespace}/${this.name}`, problem: message });
          for (const rt of this.#containers.values()) {
            rt.state = { waiting: { reason: fatal ? 'ErrImagePull' : 'CreateContainerConfigError', message } };
            rt.log.note(`kubelet: ${message}`);
          }
          this.#deps.onChange(this);
          lastProblem = message;
        }
        if (fatal) return;
        await new Promise((r) => setTimeout(r, Math.min(500 * (attempt + 1), 3_000)));
      }
    }
  }

  async #plan(c: Container, facts: PodFacts, volumes: ReadonlyMap<string, string>): Promise<LocalProcess> {
    const rewrite = pathRewriter(c, volumes);
    const raw = await resolveEnv(this.#deps.api, this.pod, c, facts);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw)) env[k] = rewrite(v);
    const args = (c.args ?? []).map((a) => rewrite(expandVars(a, raw)));
    const command = (c.command ?? []).map((a) => rewrite(expandVars(a, raw)));
    return localProcessFor(c.image, { root: this.#deps.root, podIP: facts.podIP, env, args, command });
  }

  #spawn(rt: ContainerRuntime): void {
    if (this.#stopping || !rt.proc) return;
    const proc = rt.proc;
    const [cmd, argv] = this.#deps.network.wrap(proc.command, proc.args);
    const child = spawn(cmd, argv, {
      cwd: this.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir, HOSTNAME: this.name, ...proc.env },
    });
    rt.child = child;
    rt.listening = 0;
    rt.ready = false;
    rt.containerID = `sluice://${this.uid}-${rt.spec.name}-${rt.restartCount}`;
    const startedAt = now();
    rt.state = { running: { startedAt } };
    child.stdout!.on('data', (chunk: Buffer) => {
      const lines = rt.log.write('stdout', chunk);
      const more = lines.filter((l) => LISTENING.test(l)).length;
      if (more === 0) return;
      rt.listening += more;
      if (!rt.ready && rt.listening >= proc.listeners) {
        rt.ready = true;
        this.#deps.onChange(this);
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => void rt.log.write('stderr', chunk));
    child.on('error', (err) => rt.log.note(`kubelet: cannot start ${proc.command}: ${err.message}`));
    child.on('close', (code, signal) => {
      rt.log.flush();
      rt.child = undefined;
      rt.ready = false;
      const finishedAt = now();
      rt.lastState = {
        terminated: {
          exitCode: code ?? 137,
          ...(signal ? { signal: 9 } : {}),
          reason: code === 0 ? 'Completed' : 'Error',
          startedAt,
          finishedAt,
          containerID: rt.containerID,
        },
      };
      if (this.#stopping) {
        rt.state = rt.lastState;
        return;
      }
      // restartPolicy Always (every conformance pod comes from a Deployment): back off and retry.
      rt.restartCount++;
      rt.state = { waiting: { reason: 'CrashLoopBackOff', message: `exited with ${code ?? signal}` } };
      this.#deps.log('container exited; restarting', { pod: `${this.namespace}/${this.name}`, container: rt.spec.name, code, signal });
      this.#deps.onChange(this);
      const delay = Math.min(1_000 * 2 ** Math.min(rt.restartCount - 1, 4), 10_000);
      rt.restartTimer = setTimeout(() => this.#spawn(rt), delay);
    });
    this.#deps.onChange(this);
  }

  /** Stop every container (SIGTERM, then SIGKILL after `graceMs`) and give the IP back. */
  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const waits: Array<Promise<void>> = [];
    for (const rt of this.#containers.values()) {
      clearTimeout(rt.restartTimer);
      const child = rt.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      waits.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => child.kill('SIGKILL'), Math.max(0, graceMs));
          child.once('close', () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill('SIGTERM');
        }),
      );
    }
    await Promise.all(waits);
    if (this.podIP) this.#deps.network.release(this.podIP);
  }

  /** Remove the pod's directory (after stop). */
  removeFiles(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  #condition(type: string, ok: boolean, reason?: string): Record<string, unknown> {
    const status = ok ? 'True' : 'False';
    const prev = this.#conditionTimes.get(type);
    const time = prev && prev.status === status ? prev.time : now();
    this.#conditionTimes.set(type, { status, time });
    return { type, status, lastProbeTime: null, lastTransitionTime: time, ...(reason && !ok ? { reason } : {}) };
  }

  /** The PodStatus to write. */
  status(): Record<string, unknown> {
    const rts = [...this.#containers.values()];
    const allReady = rts.every((rt) => rt.ready);
    const allStarted = rts.every((rt) => 'running' in rt.state || rt.restartCount > 0);
    const ip = this.podIP;
    return {
      phase: this.#prepared && allStarted ? 'Running' : 'Pending',
      conditions: [
        this.#condition('PodReadyToStartContainers', ip !== undefined),
        this.#condition('Initialized', true),
        this.#condition('ContainersReady', allReady, 'ContainersNotReady'),
        this.#condition('Ready', allReady, 'ContainersNotReady'),
        this.#condition('PodScheduled', true),
      ],
      hostIP: this.#deps.hostIP,
      hostIPs: [{ ip: this.#deps.hostIP }],
      ...(ip ? { podIP: ip, podIPs: [{ ip }] } : {}),
      startTime: this.startTime,
      containerStatuses: rts.map((rt) => ({
        name: rt.spec.name,
        image: rt.spec.image,
        imageID: `sluice.local/stand-in@${rt.spec.image}`,
        ...(rt.containerID && !('waiting' in rt.state && rt.state.waiting.reason === 'ContainerCreating') ? { containerID: rt.containerID } : {}),
        ready: rt.ready,
        started: 'running' in rt.state,
        restartCount: rt.restartCount,
        state: rt.state,
        lastState: rt.lastState ?? {},
      })),
    };
  }
}
