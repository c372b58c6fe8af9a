/** Where a listener binds. `host` undefined means every address (like Go's ":PORT"). */
export interface ListenAddress {
  readonly host?: string;
  readonly port: number;
}

/** "HOST:PORT", "[v6]:PORT", ":PORT" (every address) or an object. */
export type Listen = string | ListenAddress;

/** Who this echo backend claims to be; echoed in every response as upstream echo-basic does. */
export interface EchoIdentity {
  readonly pod: string;
  readonly namespace: string;
  readonly ingress: string;
  readonly service: string;
}

export interface EchoTlsOptions {
  /** PEM certificate chain (contents, not a path). */
  readonly cert: string | Buffer;
  /** PEM private key (contents, not a path). */
  readonly key: string | Buffer;
  /**
   * PEM CA bundle. When set, HTTPS listeners ask for a client certificate and
   * verify it if one is given (Go's VerifyClientCertIfGiven); clients without
   * one are still served.
   */
  readonly clientCa?: string | Buffer;
}

export interface EchoOptions {
  /**
   * The demo/test listener of `sluice echo --listen`: plain HTTP, or HTTPS
   * when `tls` is given and `https` is not.
   */
  readonly listen?: Listen;
  /** Reported as `pod` (echo-basic: POD_NAME). */
  readonly pod?: string;
  /** Alias of `pod` (`sluice echo --name`). */
  readonly name?: string;
  /** Reported as `namespace` (echo-basic: NAMESPACE). */
  readonly namespace?: string;
  /** Reported as `ingress` (echo-basic: INGRESS_NAME). */
  readonly ingress?: string;
  /** Reported as `service` (echo-basic: SERVICE_NAME). */
  readonly service?: string;

  /** Plain HTTP/1.1 echo (echo-basic HTTP_PORT 3000). */
  readonly http?: Listen;
  /** HTTPS echo, HTTP/1.1 and HTTP/2 by ALPN, gRPC too (HTTPS_PORT 8443). Needs `tls`. */
  readonly https?: Listen;
  /**
   * HTTP/2 cleartext echo (H2C_PORT 3001): prior knowledge, or HTTP/1.1 with
   * `Upgrade: h2c`. Plain HTTP/1.1 without the upgrade gets 400, as upstream.
   * gRPC requests are served here too.
   */
  readonly h2c?: Listen;
  /** gRPC over h2c. The same address as `h2c` shares that listener. */
  readonly grpc?: Listen;
  /** Line-based TCP echo (TCP_ECHO_SERVER mode, TCP_PORT 3000). */
  readonly tcp?: Listen;
  /** The TCP echo behind TLS (TLS_PORT 8443). Needs `tls`. */
  readonly tcpTls?: Listen;
  /** UDP echo (UDP_ECHO_SERVER mode, UDP_PORT 8080). */
  readonly udp?: Listen;

  readonly tls?: EchoTlsOptions;
  /**
   * Value of `httpPort` in HTTP responses. Default: the bound port of the
   * `http` listener, else the port of the listener that took the request.
   */
  readonly httpPort?: string;
  /** TCP echo `tcpport`/`tlsport` values; default: the bound ports. */
  readonly tcpPort?: string;
  readonly tlsPort?: string;
  /**
   * Receives each log line (no trailing newline), e.g. `Echoing back request
   * made to /x to client (127.0.0.1:5000)`. Default: process.stdout. `null`
   * silences it (benchmarks).
   */
  readonly log?: ((line: string) => void) | null;
  /** Same as `log: null`: nothing is logged at all. */
  readonly quiet?: boolean;
  /** false: log the listening lines but not each request (`sluice echo --quiet`). */
  readonly logRequests?: boolean;
  /** How many retry-simulation uuids to remember (default 10000). */
  readonly retryLimit?: number;
}

export type EchoListenerKind = 'http' | 'https' | 'h2c' | 'grpc' | 'tcp' | 'tcpTls' | 'udp';

export interface BoundListener {
  readonly kind: EchoListenerKind;
  readonly host: string;
  readonly port: number;
}

export interface EchoServer {
  /** Bound port per configured listener kind (after port 0 resolution). */
  readonly ports: Readonly<Partial<Record<EchoListenerKind, number>>>;
  readonly listeners: readonly BoundListener[];
  readonly identity: EchoIdentity;
  /** Stop listening, drop open connections and pending delays; idempotent. */
  close(): Promise<void>;
}
