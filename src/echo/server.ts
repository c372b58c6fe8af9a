import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createSecureServer, createServer as createH2cServer, type Http2SecureServer } from 'node:http2';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { UsageError } from '../errors.js';
import { isH2cUpgrade, routeByPreface, upgradeToH2c } from './h2c.js';
import { attachUdpEcho, createTcpEchoServer, createTcpTlsEchoServer, createUdpSocket, type TcpEchoConfig } from './l4.js';
import { createEchoHandler, type EchoHttpContext, type EchoListenerInfo } from './http-handler.js';
import { bindUdp, listenTcp, parseListen, show } from './listen.js';
import { RetryTracker } from './retry.js';
import type { BoundListener, EchoIdentity, EchoListenerKind, EchoOptions, EchoServer, ListenAddress } from './types.js';
import { WebSocketEcho, isWebSocketToEchoPath } from './websocket.js';

/** Something started that close() must stop. */
type Closer = () => Promise<void>;

/** Shared state of one echo instance while it starts and runs. */
export class EchoRuntime {
  readonly closers: Closer[] = [];
  readonly listeners: BoundListener[] = [];
  readonly ports: Partial<Record<EchoListenerKind, number>> = {};
  /** Every accepted connection, destroyed on close so nothing lingers. */
  readonly sockets = new Set<Duplex>();
  readonly ws: WebSocketEcho;
  readonly http: EchoHttpContext;
  /** Per-request log lines, or null when silenced. */
  readonly requestLog: ((line: string) => void) | null;

  constructor(
    readonly options: EchoOptions,
    readonly identity: EchoIdentity,
    readonly log: ((line: string) => void) | null,
  ) {
    this.requestLog = options.logRequests === false ? null : log;
    this.ws = new WebSocketEcho(this.requestLog);
    this.http = {
      identity,
      retry: new RetryTracker(options.retryLimit),
      log: this.requestLog,
      timers: new Set(),
      httpPort: () => options.httpPort ?? (this.ports.http === undefined ? undefined : String(this.ports.http)),
    };
  }

  track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  bound(kind: EchoListenerKind, host: string, port: number, label: string): void {
    this.listeners.push({ kind, host, port });
    this.ports[kind] ??= port;
    this.log?.(`Starting server, listening on ${show({ host, port })} (${label})`);
  }

  async close(): Promise<void> {
    for (const timer of this.http.timers) clearTimeout(timer);
    this.http.timers.clear();
    this.ws.close();
    const pending = this.closers.splice(0).map((close) => close());
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(pending);
  }
}

function closeServer(server: { close(cb: (err?: Error) => void): unknown }): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Route `/ws` WebSocket handshakes to the echo; any other Upgrade is a normal request. */
function wireUpgrades(rt: EchoRuntime, server: HttpServer | Http2SecureServer, extra?: (req: IncomingMessage) => boolean): void {
  const accepts = (req: IncomingMessage): boolean => isWebSocketToEchoPath(req) || (extra?.(req) ?? false);
  (server as { shouldUpgradeCallback?: (req: IncomingMessage) => boolean }).shouldUpgradeCallback = accepts;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (isWebSocketToEchoPath(req)) rt.ws.handleUpgrade(req, socket, head);
  });
}

function tuneHttpServer(server: HttpServer | Http2SecureServer): void {
  // Like Go's http.Server defaults: idle keep-alive connections are not timed
  // out (a proxy's pool must not race our close), and `?delay=` may be long.
  const s = server as unknown as { keepAliveTimeout: number; requestTimeout: number };
  s.keepAliveTimeout = 0;
  s.requestTimeout = 0;
}

/** Plain HTTP/1.1 echo. */
export async function startHttpListener(rt: EchoRuntime, addr: ListenAddress, kind: EchoListenerKind = 'http'): Promise<void> {
  const info: EchoListenerInfo = { port: 0, tls: false, requireH2c: false };
  const server = createHttpServer(createEchoHandler(rt.http, info));
  tuneHttpServer(server);
  wireUpgrades(rt, server);
  server.on('connection', (socket: Socket) => rt.track(socket));
  const bound = await listenTcp(server, addr);
  rt.closers.push(() => closeServer(server));
  info.port = bound.port;
  rt.bound(kind, bound.host, bound.port, 'http');
}

/**
 * HTTPS echo: HTTP/2 and HTTP/1.1 by ALPN (gRPC too, over h2). With a client
 * CA, a client certificate is asked for and, if given, must verify.
 */
export async function startHttpsListener(rt: EchoRuntime, addr: ListenAddress, kind: EchoListenerKind = 'https'): Promise<void> {
  const tls = rt.options.tls;
  if (!tls) throw new UsageError('an HTTPS listener needs a certificate and key (--tls-cert/--tls-key)');
  const info: EchoListenerInfo = { port: 0, tls: true, requireH2c: false };
  const server = createSecureServer(
    {
      cert: tls.cert,
      key: tls.key,
      allowHTTP1: true,
      ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    },
    createEchoHandler(rt.http, info),
  );
  tuneHttpServer(server);
  wireUpgrades(rt, server);
  server.on('connection', (socket: Socket) => rt.track(socket));
  if (tls.clientCa) {
    // VerifyClientCertIfGiven: no certificate is fine, a bad one is not.
    server.on('secureConnection', (socket: TLSSocket) => {
      if (!socket.authorized && socket.getPeerX509Certificate() !== undefined) socket.destroy();
    });
  }
  const bound = await listenTcp(server, addr);
  rt.closers.push(() => closeServer(server));
  info.port = bound.port;
  rt.bound(kind, bound.host, bound.port, 'https');
}

/**
 * HTTP/2 cleartext echo: one port, two ways in. A connection that starts with
 * the HTTP/2 preface is HTTP/2 (prior knowledge); otherwise it is HTTP/1.1,
 * where `Upgrade: h2c` switches to HTTP/2 and anything else gets 400, as
 * echo-basic's h2c port does. gRPC calls are served here too.
 */
export async function startH2cListener(rt: EchoRuntime, addr: ListenAddress, kind: EchoListenerKind = 'h2c'): Promise<void> {
  const info: EchoListenerInfo = { port: 0, tls: false, requireH2c: true };
  const handler = createEchoHandler(rt.http, info);
  const h2 = createH2cServer(handler);
  const h1 = createHttpServer(handler);
  tuneHttpServer(h1);
  wireUpgrades(rt, h1, isH2cUpgrade);
  const toH2 = (socket: Socket): void => void h2.emit('connection', socket);
  h1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (isH2cUpgrade(req)) upgradeToH2c(req, socket, head, toH2);
  });
  const server = createNetServer((socket) => {
    rt.track(socket);
    routeByPreface(socket, (s) => void h1.emit('connection', s), toH2);
  });
  const bound = await listenTcp(server, addr);
  rt.closers.push(() => closeServer(server));
  info.port = bound.port;
  rt.bound(kind, bound.host, bound.port, kind === 'grpc' ? 'grpc' : 'h2c');
}

function tcpConfig(rt: EchoRuntime): TcpEchoConfig {
  const { options, ports } = rt;
  return {
    identity: rt.identity,
    tcpPort: () => options.tcpPort ?? (ports.tcp === undefined ? '' : String(ports.tcp)),
    tlsPort: () => options.tlsPort ?? (ports.tcpTls === undefined ? '' : String(ports.tcpTls)),
  };
}

/** Line-based TCP echo (echo-basic's TCP_ECHO_SERVER mode), optionally behind TLS. */
export async function startTcpListener(rt: EchoRuntime, addr: ListenAddress, tls: boolean): Promise<void> {
  const track = (socket: Socket): void => rt.track(socket);
  let server;
  if (tls) {
    if (!rt.options.tls) throw new UsageError('a TCP TLS listener needs a certificate and key (--tls-cert/--tls-key)');
    server = createTcpTlsEchoServer(tcpConfig(rt), rt.options.tls.cert, rt.options.tls.key, track);
  } else {
    server = createTcpEchoServer(tcpConfig(rt), track);
  }
  const bound = await listenTcp(server, addr);
  rt.closers.push(() => closeServer(server));
  rt.bound(tls ? 'tcpTls' : 'tcp', bound.host, bound.port, tls ? 'tcp+tls' : 'tcp');
}

/** UDP echo (UDP_ECHO_SERVER mode). Every address means dual-stack, or IPv4 where IPv6 is off. */
export async function startUdpListener(rt: EchoRuntime, addr: ListenAddress): Promise<void> {
  let socket = createUdpSocket(addr.host);
  let bound;
  try {
    bound = await bindUdp(socket, addr);
  } catch (err) {
    socket.close();
    if (addr.host !== undefined) throw err;
    socket = createUdpSocket('0.0.0.0');
    bound = await bindUdp(socket, { host: '0.0.0.0', port: addr.port });
  }
  attachUdpEcho(socket, rt.identity, rt.requestLog);
  const closing = socket;
  rt.closers.push(() => new Promise<void>((resolve) => closing.close(() => resolve())));
  rt.bound('udp', bound.host, bound.port, 'udp');
}

function sameAddress(a: ListenAddress, b: ListenAddress): boolean {
  return a.port === b.port && (a.host ?? '') === (b.host ?? '') && a.port !== 0;
}

function identityOf(options: EchoOptions): EchoIdentity {
  return {
    pod: options.pod ?? options.name ?? '',
    namespace: options.namespace ?? '',
    ingress: options.ingress ?? '',
    service: options.service ?? '',
  };
}

/**
 * Start an echo backend with the listeners `options` asks for, in this
 * process. Resolves once every listener is bound; if one cannot be bound,
 * the others are closed and the promise rejects with a ListenError.
 */
export async function startEcho(options: EchoOptions): Promise<EchoServer> {
  const log = options.quiet || options.log === null ? null : (options.log ?? ((line: string) => void process.stdout.write(line + '\n')));
  const rt = new EchoRuntime(options, identityOf(options), log);
  const listenIsTls = options.listen !== undefined && options.tls !== undefined && options.https === undefined;
  const plan: Array<() => Promise<void>> = [];
  if (options.listen !== undefined) {
    const addr = parseListen(options.listen);
    plan.push(() => (listenIsTls ? startHttpsListener(rt, addr) : startHttpListener(rt, addr)));
  }
  if (options.http !== undefined) {
    const addr = parseListen(options.http, 'http-listen');
    plan.push(() => startHttpListener(rt, addr));
  }
  if (options.https !== undefined) {
    const addr = parseListen(options.https, 'https-listen');
    plan.push(() => startHttpsListener(rt, addr));
  }
  const h2cAddr = options.h2c === undefined ? undefined : parseListen(options.h2c, 'h2c-listen');
  if (h2cAddr !== undefined) plan.push(() => startH2cListener(rt, h2cAddr));
  if (options.grpc !== undefined) {
    const addr = parseListen(options.grpc, 'grpc-listen');
    if (h2cAddr !== undefined && sameAddress(addr, h2cAddr)) {
      plan.push(async () => void (rt.ports.grpc = rt.ports.h2c));
    } else {
      plan.push(() => startH2cListener(rt, addr, 'grpc'));
    }
  }
  if (options.tcp !== undefined) {
    const addr = parseListen(options.tcp, 'tcp-listen');
    plan.push(() => startTcpListener(rt, addr, false));
  }
  if (options.tcpTls !== undefined) {
    const addr = parseListen(options.tcpTls, 'tcp-tls-listen');
    plan.push(() => startTcpListener(rt, addr, true));
  }
  if (options.udp !== undefined) {
    const addr = parseListen(options.udp, 'udp-listen');
    plan.push(() => startUdpListener(rt, addr));
  }
  if (plan.length === 0) throw new UsageError('nothing to listen on: give at least one listen address');
  try {
    for (const start of plan) await start();
  } catch (err) {
    await rt.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    ports: rt.ports,
    listeners: rt.listeners,
    identity: rt.identity,
    close: () => (closing ??= rt.close()),
  };
}
