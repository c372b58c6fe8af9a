import type { Gateway, GRPCRoute, HTTPRoute, ListenerSet } from '../model/objects.js';
import type { HttpRouteIR, L4RouteIR, ListenerProtocol, ListenerTLSIR } from './ir.js';

export type ListenerSpec = Gateway['spec']['listeners'][number];
export type HTTPRouteRule = NonNullable<HTTPRoute['spec']['rules']>[number];
export type HTTPRouteFilter = NonNullable<HTTPRouteRule['filters']>[number];
export type HTTPRouteMatch = NonNullable<HTTPRouteRule['matches']>[number];
export type HTTPBackendRef = NonNullable<HTTPRouteRule['backendRefs']>[number];
export type GRPCRouteRule = NonNullable<GRPCRoute['spec']['rules']>[number];
export type GRPCRouteMatch = NonNullable<GRPCRouteRule['matches']>[number];
export type ParentReference = NonNullable<HTTPRoute['spec']['parentRefs']>[number];

export interface RouteGroupKind {
  readonly group: string;
  readonly kind: string;
}

/** Why something is not fine: a condition reason plus a human message. */
export interface Problem {
  readonly reason: string;
  readonly message: string;
}

/** The object that declares a listener: what its certificate references and allowedRoutes "Same" are relative to. */
export interface ListenerOwner {
  readonly kind: 'Gateway' | 'ListenerSet';
  readonly namespace: string;
  readonly name: string;
}

export interface GatewayState {
  readonly obj: Gateway;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number | undefined;
  readonly created: number | undefined;
  readonly listeners: ListenerState[];
  /** Bind addresses for PortIR ('' = all). */
  readonly bindAddresses: readonly string[];
  readonly statusAddresses: readonly { type: string; value: string }[];
  /** Set when the Gateway as a whole cannot be accepted (addresses, parameters). */
  readonly rejected?: Problem & { readonly programmedReason?: string };
  /** Set when the Gateway is accepted but cannot be programmed (e.g. no address). */
  readonly unprogrammed?: Problem;
  /** ListenerSets whose parentRef names this Gateway, in listener precedence order (oldest first). */
  readonly listenerSets: ListenerSetState[];
  /** spec.tls.backend.clientCertificateRef, resolved: presented on TLS connections to backends. */
  readonly backendClientCertificate?: import('./ir.js').CertificateIR;
  /** Why spec.tls.backend.clientCertificateRef cannot be used (Gateway ResolvedRefs=False). */
  readonly backendTLSProblem?: Problem;
}

/** A ListenerSet whose parent is one of our Gateways. */
export interface ListenerSetState {
  readonly obj: ListenerSet;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number | undefined;
  readonly created: number | undefined;
  readonly gateway: GatewayState;
  /** Why the parent does not take the ListenerSet at all (NotAllowed, ParentNotAccepted); it then has no listeners. */
  readonly refused?: Problem;
  /** Its listeners, merged into the parent Gateway's after the Gateway's own. */
  readonly listeners: ListenerState[];
}

/** One route match entry placed on a listener, with what precedence needs. */
export interface HttpEntry {
  readonly hostname: string;
  readonly created: number | undefined;
  readonly ir: HttpRouteIR;
}

export interface ListenerState {
  readonly id: string;
  readonly gateway: GatewayState;
  /** Set for a listener declared by a ListenerSet (then `gateway` is its parent). */
  readonly listenerSet?: ListenerSetState;
  readonly spec: ListenerSpec;
  readonly name: string;
  readonly port: number;
  readonly protocol: string;
  /** Lower-case listener hostname; undefined matches any host. */
  readonly hostname: string | undefined;
  /** Undefined when the protocol is not supported. */
  readonly module: import('./protocols/types.js').ProtocolModule | undefined;
  readonly supportedKinds: readonly RouteGroupKind[];
  /** Route kinds named in allowedRoutes.kinds that this listener cannot carry. */
  readonly invalidKinds: readonly string[];
  readonly allowsNamespace: (routeNamespace: string) => boolean;
  readonly tls?: ListenerTLSIR;
  readonly tlsMode?: 'Terminate' | 'Passthrough';
  /** A reference problem (certificates) for ResolvedRefs=False. */
  readonly refProblem?: Problem;
  /** A protocol-specific problem that keeps the listener from being Accepted. */
  readonly acceptProblem?: Problem;
  /** Set by conflict detection. */
  conflict?: Problem;
  /** Keys ("Kind/ns/name") of Accepted routes attached here. */
  readonly attachedRoutes: Set<string>;
  readonly httpEntries: HttpEntry[];
  readonly l4Routes: L4RouteIR[];
}

export function irProtocol(p: string): ListenerProtocol | undefined {
  return p === 'HTTP' || p === 'HTTPS' || p === 'TLS' || p === 'TCP' || p === 'UDP' ? p : undefined;
}
