// The harness's "CNI": one network namespace for every fake pod, joined to the root namespace
// by a veth pair. Pods get addresses from a private /16 that exists only inside that namespace
// (the root side holds just the .0.1 host address and a route for the /16 over the veth), so
// EndpointSlices carry ordinary non-loopback IPs while nothing can ever leave the machine: the
// namespace has no default route, and the root namespace only routes the /16 into the veth.
import { execFileSync, spawnSync } from 'node:child_process';
import { PodNetworkError } from './errors.ts';

function ip(args: readonly string[], input?: string): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new PodNetworkError(`ip ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

export interface PodNetworkInfo {
  /** Network namespace name (under /run/netns). */
  readonly namespace: string;
  /** The pod CIDR, e.g. 10.244.0.0/16. */
  readonly cidr: string;
  /** Root-side veth address, e.g. 10.244.0.1: the source of the gateway's connections to pods. */
  readonly hostIP: string;
  readonly hostInterface: string;
  readonly podInterface: string;
}

/** Why pod networking cannot be set up here, or undefined when it can. */
export function podNetworkUnavailable(): string | undefined {
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).status !== 0) return 'the `ip` command (iproute2) is missing (apt-get install iproute2)';
  if (process.getuid?.() !== 0) return 'network namespaces and veth pairs need root';
  return undefined;
}

export class PodNetwork implements PodNetworkInfo {
  readonly namespace: string;
  readonly cidr: string;
  readonly hostIP: string;
  readonly hostInterface: string;
  readonly podInterface: string;
  readonly #prefix: string;
  #next = 256; // 10.x.1.0 onwards; 10.x.0.0/24 is left to the host side
  readonly #inUse = new Set<string>();
  #destroyed = false;

  private constructor(info: PodNetworkInfo, prefix: string) {
    this.namespace = info.namespace;
    this.cidr = info.cidr;
    this.hostIP = info.hostIP;
    this.hostInterface = info.hostInterface;
    this.podInterface = info.podInterface;
    this.#prefix = prefix;
  }

  /**
   * Create the namespace, the veth pair and the routes. `tag` keeps names unique per run
   * (interface names are limited to 15 characters).
   */
  static create(tag: string = String(process.pid % 100000)): PodNetwork {
    const why = podNetworkUnavailable();
    if (why) throw new PodNetworkError(why);
    const namespace = `sluice-pods-${tag}`;
    const hostInterface = `slp${tag}h`.slice(0, 15);
    const podInterface = `slp${tag}p`.slice(0, 15);
    // A /16 nobody on this machine uses: no route or address mentions it. Another run may pick
    // the same one at the same moment; then adding its route fails and the next one is tried.
    const taken = ip(['-4', 'route', 'show', 'table', 'all']) + ip(['-4', 'addr', 'show']);
    let lastError: unknown;
    for (let second = 240; second <= 250; second++) {
      const prefix = `10.${second}`;
      if (taken.includes(`${prefix}.`)) continue;
      const net = new PodNetwork(
        { namespace, cidr: `${prefix}.0.0/16`, hostIP: `${prefix}.0.1`, hostInterface, podInterface },
        prefix,
      );
      try {
        net.#setUp();
        return net;
      } catch (err) {
        net.destroy();
        lastError = err;
      }
    }
    throw new PodNetworkError('no free 10.240-250.0.0/16 for the pod network', { cause: lastError });
  }

  #setUp(): void {
    const { namespace, hostInterface, podInterface } = this;
    this.#teardownLinks();
    ip(['netns', 'add', namespace]);
    ip(['link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', podInterface]);
    ip(['link', 'set', podInterface, 'netns', namespace]);
    ip(['addr', 'add', `${this.hostIP}/32`, 'dev', hostInterface]);
    ip(['link', 'set', hostInterface, 'up']);
    ip(['route', 'add', this.cidr, 'dev', hostInterface, 'src', this.hostIP]);
    ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
    ip(['-n', namespace, 'link', 'set', podInterface, 'up']);
    // Only the /16 is reachable from inside: no default route out of the namespace.
    ip(['-n', namespace, 'route', 'add', this.cidr, 'dev', podInterface]);
  }


  /** Give the next free pod address to the namespace and return it. */
  allocate(): string {
    if (this.#destroyed) throw new PodNetworkError('the pod network is gone');
    for (let tries = 0; tries < 65_000; tries++) {
      const n = this.#next;
      this.#next = this.#next >= 65_533 ? 256 : this.#next + 1;
      const addr = `${this.#prefix}.${n >> 8}.${n & 255}`;
      if ((n & 255) === 0 || (n & 255) === 255 || this.#inUse.has(addr)) continue;
      ip(['-n', this.namespace, 'addr', 'add', `${addr}/32`, 'dev', this.podInterface]);
      this.#inUse.add(addr);
      return addr;
    }
    throw new PodNetworkError(`no free address left in ${this.cidr}`);
  }

  /** Take a pod address away again (after its process has exited). */
  release(addr: string): void {
    if (!this.#inUse.delete(addr) || this.#destroyed) return;
    try {
      ip(['-n', this.namespace, 'addr', 'del', `${addr}/32`, 'dev', this.podInterface]);
    } catch {
      // already gone with the namespace
    }
  }

  /** argv that runs `cmd args...` inside the pod namespace. */
  wrap(cmd: string, args: readonly string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.namespace, cmd, ...args]];
  }

  #teardownLinks(): void {
    try {
      ip(['netns', 'del', this.namespace]);
    } catch {
      // not there
    }
    try {
      ip(['link', 'del', this.hostInterface]);
    } catch {
      // went with the namespace
    }
  }

  /** Remove the namespace, the veth pair and the route. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#inUse.clear();
    this.#teardownLinks();
  }
}
