import type { TranslateContext } from '../context.js';
import type { ListenerProtocol, ListenerTLSIR } from '../ir.js';
import type { GatewayState, ListenerOwner, ListenerSpec, Problem, RouteGroupKind } from '../types.js';

/**
 * Everything protocol-specific about a listener. Supporting a new listener
 * protocol means adding one module and registering it in protocols/index.ts.
 */
export interface ProtocolModule {
  readonly protocol: ListenerProtocol;
  /** Route kinds this protocol can carry, in the order they appear in supportedKinds. */
  readonly routeKinds: readonly RouteGroupKind[];
  /** 'udp' listeners never conflict with TCP-based ones on the same port. */
  readonly transport: 'tcp' | 'udp';
  /**
   * How listeners sharing a port are told apart: by Host header ('host'), by
   * SNI ('sni', HTTPS and TLS may share a port), or not at all ('none': one
   * listener per port).
   */
  readonly distinctBy: 'host' | 'sni' | 'none';
  /** Whether a listener of this protocol without a usable certificate cannot serve. */
  readonly needsCertificates: boolean;
  /** Resolve TLS settings and references (relative to the object that declares the listener). */
  /** `gateway` is the Gateway the listener belongs to (the parent, for a ListenerSet listener). */
  resolve(listener: ListenerSpec, owner: ListenerOwner, ctx: TranslateContext, gateway: GatewayState): ListenerResolution;
}

export interface ListenerResolution {
  readonly tls?: ListenerTLSIR;
  readonly tlsMode?: 'Terminate' | 'Passthrough';
  readonly refProblem?: Problem;
  /** A problem that makes the listener not Accepted (e.g. an unsupported TLS mode). */
  readonly acceptProblem?: Problem;
}
