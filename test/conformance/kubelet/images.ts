// Which local program stands in for a container image. No container runtime exists here, so
// every image the conformance suite deploys is mapped to our own implementation:
//
//   gateway-api/echo-basic, gateway-api/conformance/echo-basic -> `sluice echo` in image mode
//       (HTTP_PORT/H2C_PORT/HTTPS_PORT, GRPC_ECHO_SERVER, TCP_ECHO_SERVER, UDP_ECHO_SERVER ...),
//       bound to the pod IP through ECHO_BIND_ADDRESS;
//   gateway-api/echo-advanced (mesh) -> `sluice echo` on the ports of its --port/--tcp/--grpc args;
//   coredns/coredns                  -> dns.ts, a `whoami` responder reading the pod's Corefile.
import { join } from 'node:path';
import { PodSpecError } from './errors.ts';

export interface ImageContext {
  /** Repository root (bin/, dist/, node_modules/, test/). */
  readonly root: string;
  readonly podIP: string;
  /** The container's environment after fieldRef/secret/configMap resolution and path rewriting. */
  readonly env: Readonly<Record<string, string>>;
  /** The container's args after $(VAR) expansion and path rewriting. */
  readonly args: readonly string[];
  readonly command: readonly string[];
}

export interface LocalProcess {
  readonly command: string;
  readonly args: readonly string[];
  /** Environment of the process (added to a minimal base: PATH, HOME). */
  readonly env: Readonly<Record<string, string>>;
  /** The container counts as started once stdout has shown this many "listening on" lines. */
  readonly listeners: number;
}

/** The repository-relative part of an image reference: "registry.k8s.io/gateway-api/echo-basic:v1.5.1" -> "gateway-api/echo-basic". */
export function imageName(image: string): string {
  let ref = image.split('@')[0]!;
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) ref = ref.slice(0, colon);
  const parts = ref.split('/');
  // Drop a registry host (has a dot or a port, or is localhost).
  if (parts.length > 1 && /[.:]|^localhost$/.test(parts[0]!)) parts.shift();
  return parts.join('/');
}

const set = (env: Readonly<Record<string, string>>, name: string): boolean => (env[name] ?? '') !== '';

/** How many listeners `sluice echo` opens in image mode for this environment (the echo-basic contract). */
export function echoBasicListeners(env: Readonly<Record<string, string>>): number {
  if (set(env, 'GRPC_ECHO_SERVER')) return set(env, 'TLS_SERVER_CERT') && set(env, 'TLS_SERVER_PRIV_KEY') ? 2 : 1;
  if (set(env, 'TCP_ECHO_SERVER')) return set(env, 'TLS_SERVER_CERT') && set(env, 'TLS_SERVER_PRIV_KEY') ? 2 : 1;
  if (set(env, 'UDP_ECHO_SERVER')) return 1;
  return set(env, 'TLS_SERVER_CERT') && set(env, 'TLS_SERVER_PRIVKEY') ? 3 : 2;
}

function nodeBinary(root: string): string {
  return join(root, 'node_modules', '.bin', 'node');
}

function sluiceEcho(ctx: ImageContext, extraArgs: readonly string[], env: Record<string, string>, listeners: number): LocalProcess {
  return {
    command: nodeBinary(ctx.root),
    args: [join(ctx.root, 'dist', 'cli', 'main.js'), 'echo', ...extraArgs],
    env,
    listeners,
  };
}

function echoAdvanced(ctx: ImageContext): LocalProcess {
  const ports: string[] = [];
  let tcp: string | undefined;
  let grpc: string | undefined;
  for (const arg of ctx.args) {
    const m = /^--(port|tcp|grpc)=(\d+)$/.exec(arg);
    if (!m) continue;
    if (m[1] === 'port') ports.push(m[2]!);
    else if (m[1] === 'tcp') tcp = m[2];
    else grpc = m[2];
  }
  // Only the first HTTP port is served: `sluice echo` has one plain listener, and the TLS
  // ports (--tls=) need a certificate baked into the upstream image. The mesh profiles need
  // ClusterIP interception and pods/exec anyway, which this harness does not provide.
  const args = ['--listen', `${ctx.podIP}:${ports[0] ?? '8080'}`];
  if (tcp) args.push('--tcp-listen', `${ctx.podIP}:${tcp}`);
  if (grpc) args.push('--grpc-listen', `${ctx.podIP}:${grpc}`);
  return sluiceEcho(ctx, args, { ...ctx.env }, 1 + (tcp ? 1 : 0) + (grpc ? 1 : 0));
}

/** The local process for a container image, or a PodSpecError when the image is unknown. */
export function localProcessFor(image: string, ctx: ImageContext): LocalProcess {
  const name = imageName(image);
  if (name === 'gateway-api/echo-basic' || name === 'gateway-api/conformance/echo-basic') {
    return sluiceEcho(ctx, [], { ...ctx.env, ECHO_BIND_ADDRESS: ctx.podIP }, echoBasicListeners(ctx.env));
  }
  if (name === 'gateway-api/echo-advanced' || name === 'gateway-api/conformance/echo-advanced') return echoAdvanced(ctx);
  if (name === 'coredns/coredns' || name === 'coredns') {
    return {
      command: nodeBinary(ctx.root),
      args: [join(ctx.root, 'test', 'conformance', 'kubelet', 'dns.ts'), ...ctx.args, '--bind', ctx.podIP],
      env: { ...ctx.env },
      listeners: 1,
    };
  }
  throw new PodSpecError(`image ${image} has no local stand-in (known: echo-basic, echo-advanced, coredns)`);
}
