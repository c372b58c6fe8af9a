import type { SecureContext } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import type { HttpRouteIR, PathModifierIR } from '../translate/ir.js';
import type { SmoothWeighted } from './balancer.js';
import type { CompiledCors } from './cors.js';
import type { HeaderModifier } from './headers.js';
import type { HostIndex } from './hostindex.js';
import type { RedirectIR } from './redirect.js';
import type { RouteIndex } from './matcher.js';
import type { ClusterRuntime } from './upstreams.js';

/**
 * The route table compiled for the hot path. One CompiledTable per apply();
 * a request keeps the objects it looked up, so a newer table never changes
 * a request that already started.
 */
export interface CompiledTable {
  readonly version: string;
  /** By port key "address|port". */
  readonly ports: ReadonlyMap<string, CompiledPort>;
}

export interface CompiledPort {
  readonly key: string;
  readonly address: string;
  readonly port: number;
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly scheme: 'http' | 'https';
  readonly listeners: HostIndex<CompiledListener>;
  readonly listenerIds: readonly string[];
  readonly tls: PortTls | undefined;
  /** Metric children cache for requests that matched no listener. */
  metricCache: unknown[] | undefined;
}

export interface CompiledListener {
  readonly id: string;
  readonly hostname: string | undefined;
  readonly vhosts: HostIndex<CompiledVHost>;
  /** Certificates in listener order (HTTPS only). */
  readonly certs: readonly ServingCert[];
  /** Client certificate validation (Gateway spec.tls.frontend); undefined when clients are not asked for a certificate. */
  readonly clientAuth: ClientAuth | undefined;
  /** Metric children cache for requests that matched this listener but no route. */
  metricCache: unknown[] | undefined;
}

export interface ServingCert {
  readonly context: SecureContext;
  readonly x509: X509Certificate | undefined;
  /** Key in the SecureContext cache (content hash). */
  readonly cacheKey: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** Trust anchors for client certificates, when the listener validates them. */
  readonly caPems: readonly string[] | undefined;
  /** OpenSSL session id context: sessions resume only under the same client validation. */
  readonly sessionIdContext: string;
}

export interface ClientAuth {
  readonly mode: 'AllowValidOnly' | 'AllowInsecureFallback';
  /** Identity of the CA set (equal keys verify the same way); also the contexts' session id context. */
  readonly key: string;
  /** "namespace/name" of the CA ConfigMaps, for logs. */
  readonly sources: readonly string[];
}

export interface PortTls {
  /** Secure context for an SNI name (undefined -> the server's default). */
  contextFor(servername: string): SecureContext | undefined;
  /** Served to clients that send no SNI: the first certificate of the least specific listener. */
  readonly fallback: ServingCert | undefined;
  /** Whether some listener of the port validates client certificates (the server then asks every client for one). */
  readonly requestCert: boolean;
  /**
   * The listener whose SecureContext a connection with this SNI got (the
   * fallback's listener without SNI or when the SNI's listener has no usable
   * certificate): its client validation is the one the handshake applied.
   */
  connectionListener(servername: string | false | null | undefined): CompiledListener | undefined;
}

export interface CompiledVHost {
  readonly hostname: string;
  readonly routes: RouteIndex;
}

export interface CompiledStringMatch {
  readonly name: string;
  readonly value: string;
  /** Full-match RegExp for RegularExpression; undefined for Exact. */
  readonly regex: RegExp | undefined;
}

export interface CompiledRoute {
  /** Position in the virtual host's IR list: lower wins. */
  readonly index: number;
  readonly ir: HttpRouteIR;
  /** "namespace/name/ruleIndex" for logs and metrics. */
  readonly name: string;
  readonly listenerId: string;
  readonly method: string | undefined;
  readonly headers: readonly CompiledStringMatch[];
  readonly query: readonly CompiledStringMatch[];
  /** Full-match RegExp for RegularExpression paths (exact and prefix paths are handled by the index). */
  readonly pathRegex: RegExp | undefined;
  /** An entry whose match cannot be compiled (bad RegExp) never matches. */
  readonly never: boolean;
  readonly action: CompiledAction;
  /** Metric children cache by status class. */
  metricCache: unknown[] | undefined;
}

/** Request-side filter steps, applied in spec order. */
export type RequestOp =
  | { readonly kind: 'headers'; readonly mod: HeaderModifier }
  | { readonly kind: 'rewrite'; readonly hostname: string | undefined; readonly path: PathModifierIR | undefined }
  | { readonly kind: 'mirror'; readonly cluster: ClusterRuntime | undefined; readonly fraction: number };

export interface CompiledBackend {
  readonly cluster: ClusterRuntime | undefined;
  /** Why traffic to this backend gets 500 (from the IR, or "unknown cluster"). */
  readonly invalid: string | undefined;
  readonly requestOps: readonly RequestOp[];
  readonly responseMods: readonly HeaderModifier[];
}

export interface CompiledAction {
  readonly direct: { readonly status: number; readonly body: string } | undefined;
  readonly requestOps: readonly RequestOp[];
  readonly responseMods: readonly HeaderModifier[];
  readonly redirect: RedirectIR | undefined;
  readonly cors: CompiledCors | undefined;
  readonly backends: SmoothWeighted<CompiledBackend>;
  /** Backends in the IR (empty means the rule has none: 500). */
  readonly backendCount: number;
  readonly requestTimeoutMs: number | undefined;
  readonly backendTimeoutMs: number | undefined;
  readonly retry: { readonly attempts: number; readonly codes: ReadonlySet<number>; readonly backoffMs: number } | undefined;
}
