// A private "pod network" for end-to-end tests: one network namespace created by the test,
// joined to the host by a veth pair, with a private /24 that exists only on that pair.
// Kubernetes rejects loopback endpoint IPs in EndpointSlices, so backends ("pods") listen on
// addresses of this /24 inside the namespace; the gateway reaches them over the veth.
// Imported by tests, declares none.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface PodNetwork {
  readonly name: string;
  /** The host side of the veth, e.g. 10.251.7.1. */
  readonly hostIP: string;
  /** The n-th pod address (n >= 2), all on the namespace side of the veth. */
  podIP(n: number): string;
  /** Run a command inside the namespace. */
  spawn(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): ChildProcess;
  destroy(): void;
}

/** Why a pod network cannot be made here, or undefined when it can. */
export function podNetworkUnavailable(): string | undefined {
  try {
    ip('-V');
  } catch {
    return 'the `ip` command (iproute2) is missing';
  }
  if (process.getuid?.() !== 0) return 'creating network namespaces needs root';
  return undefined;
}

/** Create the namespace, the veth pair and `pods` addresses (.2 .. .pods+1). */
export function createPodNetwork(pods: number): PodNetwork {
  const id = `${process.pid % 100000}`;
  const name = `sluice-e2e-${id}`;
  const hostIf = `sle${id}h`;
  const podIf = `sle${id}p`;
  const routes = ip('-4', 'route', 'show') + ip('-4', 'addr', 'show');
  let prefix = '';
  for (let i = 0; i < 50 && !prefix; i++) {
    const candidate = `10.251.${1 + Math.floor(Math.random() * 250)}`;
    if (!routes.includes(`${candidate}.`)) prefix = candidate;
  }
  if (!prefix) throw new Error('no free 10.251.x.0/24 for the pod network');
  const destroy = (): void => {
    try { ip('netns', 'del', name); } catch { /* already gone */ }
    try { ip('link', 'del', hostIf); } catch { /* went with the namespace */ }
  };
  destroy();
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', podIf);
    ip('link', 'set', podIf, 'netns', name);
    ip('addr', 'add', `${prefix}.1/24`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
    for (let n = 2; n < 2 + pods; n++) ip('netns', 'exec', name, 'ip', 'addr', 'add', `${prefix}.${n}/24`, 'dev', podIf);
    ip('netns', 'exec', name, 'ip', 'link', 'set', podIf, 'up');
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    name,
    hostIP: `${prefix}.1`,
    podIP: (n) => `${prefix}.${n}`,
    spawn: (cmd, args, env) => spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env }),
    destroy,
  };
}
