/**
 * The route table: the only thing the data plane knows. It is produced by
 * translate() and never mutated afterwards (deep-frozen in dev/test).
 * Everything here is plain JSON so /config_dump and golden files can show it.
 *
 * Shape: Port (bind address + port) -> Listener (chosen by SNI / Host,
 * most specific hostname first) -> VirtualHost (route hostname intersected with
 * listener hostname, most specific first) -> HttpRoute entries already sorted
 * by Gateway API precedence (first match wins).
 */
export interface RouteTable {
  /** Content hash of the table; equal tables have equal versions. */
  readonly version: string;
  readonly ports: readonly PortIR[];
  /** Upstream clusters by id ("namespace/service:port" for Services). */
  readonly clusters: Readonly<Record<string, ClusterIR>>;
}

export type ListenerProtocol = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP' | 'UDP';

export interface PortIR {
  /** Bind address: an IP, or '' for all addresses (0.0.0.0 and ::). */
  readonly address: string;
  readonly port: number;
  /** HTTP | HTTPS for L7 ports; TLS/TCP/UDP for L4 ports. HTTPS + TLS passthrough may share a port (protocol 'HTTPS', listeners decide). */
  readonly protocol: ListenerProtocol;
  /** Sorted: exact hostnames first, then wildcards longest first, then no hostname. */
  readonly listeners: readonly ListenerIR[];
}

export interface GatewayRef { readonly namespace: string; readonly name: string }

export interface ListenerIR {
  /** "namespace/gateway/listenerName"; "ListenerSet/namespace/name/listenerName" for a ListenerSet's listener. */
  readonly id: string;
  /** The Gateway whose addresses the listener binds (a ListenerSet listener's parent Gateway). */
  readonly gateway: GatewayRef;
  readonly name: string;
  readonly protocol: ListenerProtocol;
  /** Listener hostname; undefined matches any host. May be "*.example.com". */
  readonly hostname?: string;
  /** For HTTPS and TLS Terminate: the certificates to serve (first matching by SNI). */
  readonly tls?: ListenerTLSIR;
  /** For TLS passthrough. */
  readonly tlsMode?: 'Terminate' | 'Passthrough';
  /** HTTP/HTTPS: virtual hosts, sorted most specific first. */
  readonly virtualHosts: readonly VirtualHostIR[];
  /** L4 (TLS/TCP/UDP): routes, TLS ones keyed by SNI hostname. */
  readonly l4Routes: readonly L4RouteIR[];
}

export interface ListenerTLSIR {
  readonly certificates: readonly CertificateIR[];
  /** HTTPS only: client certificate validation from the Gateway's spec.tls.frontend (default or the listener port's perPort entry). */
  readonly clientValidation?: ClientValidationIR;
}

/** Mutual TLS on a listener: the CAs client certificates must chain to, and what to do without a valid one. */
export interface ClientValidationIR {
  /** "namespace/name" of each ConfigMap the CAs come from, for logs. */
  readonly sources: readonly string[];
  /** PEM CA bundles (each ConfigMap's ca.crt; one bundle may hold several certificates). Never empty. */
  readonly caPems: readonly string[];
  /**
   * AllowValidOnly: connections without a certificate these CAs verify are refused.
   * AllowInsecureFallback: a certificate is requested and verified, but the connection is served either way.
   */
  readonly mode: 'AllowValidOnly' | 'AllowInsecureFallback';
}

export interface CertificateIR {
  /** "namespace/name" of the Secret, for logs. Never the contents. */
  readonly secret: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface VirtualHostIR {
  /** Exact ("foo.example.com"), wildcard ("*.example.com") or "*" (any). Lower case. */
  readonly hostname: string;
  /** Sorted by precedence: the data plane takes the first entry whose match accepts the request. */
  readonly routes: readonly HttpRouteIR[];
}

export interface RouteRef {
  readonly kind: 'HTTPRoute' | 'GRPCRoute' | 'TLSRoute' | 'TCPRoute' | 'UDPRoute';
  readonly namespace: string;
  readonly name: string;
  readonly ruleIndex: number;
  /** Index of the match within the rule (-1 when the rule has no matches). */
  readonly matchIndex: number;
  readonly ruleName?: string;
}

export interface HttpRouteIR {
  readonly ref: RouteRef;
  readonly match: HttpMatchIR;
  readonly action: HttpActionIR;
}

export interface HttpMatchIR {
  readonly path: PathMatchIR;
  /** Upper case HTTP method. */
  readonly method?: string;
  readonly headers: readonly StringMatchIR[];
  readonly queryParams: readonly StringMatchIR[];
  /** GRPCRoute only: exact or regex service and method, matched against the :path "/svc/method". */
  readonly grpc?: { readonly type: 'Exact' | 'RegularExpression'; readonly service?: string; readonly method?: string };
}

export interface PathMatchIR {
  readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression';
  readonly value: string;
}

export interface StringMatchIR {
  readonly type: 'Exact' | 'RegularExpression';
  /** Header names are lower case; query param names keep their case (the spec says they are case-sensitive). */
  readonly name: string;
  readonly value: string;
}

export interface HttpActionIR {
  readonly filters: readonly HttpFilterIR[];
  /**
   * Weighted backends. Empty with no redirect filter means: answer 500.
   * A backend with `invalid` set gets its share of traffic answered with 500.
   */
  readonly backends: readonly WeightedBackendIR[];
  readonly timeouts?: { readonly requestMs?: number; readonly backendRequestMs?: number };
  readonly retry?: { readonly attempts: number; readonly codes: readonly number[]; readonly backoffMs?: number };
  /** Set when the rule must answer directly, e.g. 500 for a rule whose filters are invalid. */
  readonly directResponse?: { readonly status: number; readonly body?: string };
}

export interface WeightedBackendIR {
  readonly weight: number;
  /** Cluster id in RouteTable.clusters; absent when invalid. */
  readonly cluster?: string;
  /** Why this backend cannot be used (BackendNotFound, RefNotPermitted, InvalidKind, UnsupportedProtocol). Traffic to it gets 500. */
  readonly invalid?: string;
  readonly filters: readonly HttpFilterIR[];
}

export type HttpFilterIR =
  | { readonly type: 'RequestHeaderModifier'; readonly set: readonly HeaderIR[]; readonly add: readonly HeaderIR[]; readonly remove: readonly string[] }
  | { readonly type: 'ResponseHeaderModifier'; readonly set: readonly HeaderIR[]; readonly add: readonly HeaderIR[]; readonly remove: readonly string[] }
  | {
    readonly type: 'RequestRedirect';
    readonly scheme?: 'http' | 'https';
    readonly hostname?: string;
    /** Explicit port; when absent the data plane derives it as the spec says. */
    readonly port?: number;
    readonly path?: PathModifierIR;
    readonly statusCode: number;
  }
  | { readonly type: 'URLRewrite'; readonly hostname?: string; readonly path?: PathModifierIR }
  | {
    readonly type: 'RequestMirror';
    readonly cluster?: string;
    readonly invalid?: string;
    /** Fraction of requests to mirror, 0..1. */
    readonly fraction: number;
  }
  | {
    readonly type: 'CORS';
    readonly allowOrigins: readonly string[];
    readonly allowCredentials: boolean;
    readonly allowMethods: readonly string[];
    readonly allowHeaders: readonly string[];
    readonly exposeHeaders: readonly string[];
    readonly maxAge: number;
  };

export interface HeaderIR { readonly name: string; readonly value: string }

export type PathModifierIR =
  | { readonly type: 'ReplaceFullPath'; readonly value: string }
  /** `prefix` is the matched PathPrefix value the replacement applies to. */
  | { readonly type: 'ReplacePrefixMatch'; readonly value: string; readonly prefix: string };

export interface L4RouteIR {
  readonly ref: RouteRef;
  /** TLS routes: SNI hostnames this route serves (exact or wildcard); empty = any. */
  readonly hostnames: readonly string[];
  readonly backends: readonly WeightedBackendIR[];
}

export interface ClusterIR {
  readonly id: string;
  /** "http1" | "h2c" (appProtocol kubernetes.io/h2c or GRPCRoute) | "ws" | "tcp" | "udp" */
  readonly protocol: 'http1' | 'h2c' | 'tcp' | 'udp';
  /** Ready endpoints only. Empty means 503. */
  readonly endpoints: readonly EndpointIR[];
  /** BackendTLSPolicy: originate TLS to the backend. */
  readonly tls?: {
    /** SNI to send; also the name to verify when subjectAltNames is absent. */
    readonly sni: string;
    readonly caPem?: string;
    readonly wellKnownCA?: boolean;
    /** Names the certificate must match (any one): DNS names, or URIs (the entries containing ':'). Replace verification of `sni`. */
    readonly subjectAltNames?: readonly string[];
    /** Gateway spec.tls.backend.clientCertificateRef: presented to the backend. */
    readonly clientCertificate?: CertificateIR;
  };
}

export interface EndpointIR { readonly address: string; readonly port: number }
