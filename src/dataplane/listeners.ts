import http from 'node:http';
import https from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { bindAll } from './bind.js';
import type { CompiledPort } from './compiled.js';
import type { DataPlaneMetrics } from './metrics.js';
import type { FrontRequest } from './front.js';
import { handleRequest, type ProxyRuntime } from './proxy.js';
import tls, { type TLSSocket } from 'node:tls';
import type { PortTls } from './compiled.js';
import { clientAllowed, SERVER_TLS_OPTIONS } from './tls.js';
import { handleUpgrade } from './upgrade.js';
import { KeepAliveSweeper } from './keepalive.js';
import { ALPN_H2_AND_H1, H2Front } from './h2/front.js';
import { Http1Server } from './h1/server.js';

export interface PortServerOptions {
  readonly keepAliveTimeoutMs: number;
  readonly metrics: DataPlaneMetrics | undefined;
  /** HTTP/1.1 on HTTP and HTTPS ports: Sluice's own server (h1/server.ts, the default) or node:http(s). */
  readonly httpServer?: 'native' | 'node' | undefined;
}

/**
 * One bound address:port. The server stays bound across table versions; apply()
 * swaps `state`, and each request reads it once at its start.
 */
/** The node:http field behind the `Keep-Alive: timeout=N` response header. */
interface ServerResponseInternals extends http.ServerResponse {
  _keepAliveTimeout: number;
}

export class PortServer {
  state: CompiledPort;
  /** The listening server: node:http(s), or the native HTTP/1.1 server's net.Server. */
  readonly server: NetServer;
  readonly protocol: 'HTTP' | 'HTTPS';
  /** Upgraded (WebSocket) sockets, client and upstream side, closed by shutdown. */
  readonly upgraded = new Set<Duplex>();
  /** HTTP/2 connections of this port (h2c prior knowledge, or ALPN h2 on HTTPS). */
  readonly h2: H2Front;
  /** The address actually bound ('::' or '0.0.0.0' for the all-addresses bind). */
  boundAddress = '';
  #fallbackKey: string | undefined;
  #closing: Promise<void> | undefined;
  /** node:http(s) servers only: the native server sweeps its own idle connections. */
  readonly #keepAlive: KeepAliveSweeper | undefined;
  readonly #native: Http1Server | undefined;

  constructor(readonly rt: ProxyRuntime, state: CompiledPort, opts: PortServerOptions) {
    this.state = state;
    this.protocol = state.protocol;
    this.h2 = new H2Front(rt, () => this.state, { idleTimeoutMs: opts.keepAliveTimeoutMs });
    const onUpgrade = (req: FrontRequest, socket: Duplex, head: Buffer): void => handleUpgrade(rt, this.state, req, socket, head, this.upgraded);
    if (state.protocol === 'HTTPS') this.#fallbackKey = defaultContextKey(state.tls);
    if ((opts.httpServer ?? 'native') === 'native') {
      this.#keepAlive = undefined;
      const h1 = new Http1Server({ keepAliveTimeoutMs: opts.keepAliveTimeoutMs, logger: rt.logger }, {
        request: (req, res) => handleRequest(rt, this.state, req, res),
        upgrade: onUpgrade,
      });
      this.#native = h1;
      if (state.protocol === 'HTTPS') {
        const server = tls.createServer({ ...this.#tlsOptions(), noDelay: true }, (socket: TLSSocket) => h1.accept(socket));
        this.server = server;
        this.#wireTls(server);
      } else {
        this.server = h1.server;
        this.h2.attachCleartext(this.server);
      }
      this.#countConnections(opts.metrics);
      return;
    }
    this.#native = undefined;
    const keepAlive = new KeepAliveSweeper(opts.keepAliveTimeoutMs);
    this.#keepAlive = keepAlive;
    const serverOptions: http.ServerOptions = {
      // Idle keep-alive connections are closed by the sweeper (no timer re-armed per request).
      keepAliveTimeout: 0,
      // Uploads and long responses are bounded by HTTPRoute timeouts, not by the server.
      requestTimeout: 0,
      headersTimeout: 60_000,
      noDelay: true,
    };
    const keepAliveMs = opts.keepAliveTimeoutMs;
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      keepAlive.used(req.socket);
      // node:http reads this (normally copied from server.keepAliveTimeout) for the Keep-Alive: timeout=N header.
      (res as ServerResponseInternals)._keepAliveTimeout = keepAliveMs;
      handleRequest(rt, this.state, req, res);
    };
    let server: http.Server;
    if (state.protocol === 'HTTPS') {
      const httpsServer = https.createServer({ ...serverOptions, ...this.#tlsOptions() }, onRequest);
      this.#wireTls(httpsServer);
      server = httpsServer;
    } else {
      server = http.createServer(serverOptions, onRequest);
      this.h2.attachCleartext(server);
    }
    this.server = server;
    server.on('upgrade', onUpgrade);
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (err.code === 'ECONNRESET' || !socket.writable) {
        socket.destroy();
        return;
      }
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    });
    this.#countConnections(opts.metrics);
  }

  /** TLS options of an HTTPS port: the default certificate and client CAs, ALPN h2 + http/1.1, SNI per listener. */
  #tlsOptions(): tls.TlsOptions {
    return {
      ...SERVER_TLS_OPTIONS,
      ALPNProtocols: [...ALPN_H2_AND_H1],
      ...defaultContextOptions(this.state.tls),
      SNICallback: (servername, cb) => {
        try {
          cb(null, this.state.tls?.contextFor(servername));
        } catch (err) {
          cb(err as Error, undefined);
        }
      },
    };
  }

  /** ALPN h2 connections go to HTTP/2, the rest to the HTTP/1.1 server; both behind the client certificate gate. */
  #wireTls(server: tls.Server): void {
    this.h2.attachTls(server);
    this.#gateClientCertificates(server);
  }

  #countConnections(metrics: DataPlaneMetrics | undefined): void {
    const state = this.state;
    if (metrics !== undefined) {
      const gauge = metrics.activeConnections.labels(String(state.port));
      const onClose = (): void => {
        gauge.dec();
      };
      this.server.on('connection', (socket: Socket) => {
        gauge.inc();
        socket.once('close', onClose);
      });
    }
  }

  /**
   * Refuse handshakes whose listener requires a valid client certificate and
   * did not get one, before HTTP/1.1 or HTTP/2 sees the connection.
   */
  #gateClientCertificates(server: tls.Server): void {
    const next = server.listeners('secureConnection') as Array<(socket: TLSSocket) => void>;
    server.removeAllListeners('secureConnection');
    server.on('secureConnection', (socket: TLSSocket) => {
      // A failed client chain check can leave an error on OpenSSL's (per
      // thread) error queue, e.g. a certificate whose issuer has the name but
      // not the key of a trusted CA. node does not clear it, and the next
      // SSL_read that merely wants more data then reports it as a socket
      // error (the HTTP layer answers 400). Reading the peer certificate
      // clears the queue; it must happen before this socket reads again.
      if (this.state.tls?.requestCert === true && !socket.authorized) socket.getPeerX509Certificate();
      if (!clientAllowed(this.state.tls, socket)) {
        this.rt.logger.debug({
          port: this.state.port,
          listener: this.state.tls?.connectionListener(socket.servername)?.id,
          reason: socket.authorizationError === undefined ? 'no client certificate' : String(socket.authorizationError),
        }, 'TLS connection refused: client certificate required');
        socket.destroy();
        return;
      }
      for (const l of next) l.call(server, socket);
    });
  }

  #closeIdleConnections(): void {
    if (this.#native !== undefined) this.#native.closeIdleConnections();
    else (this.server as http.Server).closeIdleConnections();
  }

  #closeAllConnections(): void {
    if (this.#native !== undefined) this.#native.closeAllConnections();
    else (this.server as http.Server).closeAllConnections();
  }

  /** Bind. '' means every address: '::' dual-stack, or 0.0.0.0 without IPv6. Rejects with a ListenError. */
  async listen(): Promise<void> {
    const { address, port } = this.state;
    await bindAll(address, port, (host) => this.#listenOn(host, port));
  }

  #listenOn(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        this.boundAddress = host;
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host, port, ipv6Only: false, exclusive: true });
    });
  }

  /** The port the OS bound (useful with port 0 in tests). */
  get boundPort(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** Swap in a new compiled port (same protocol). In-flight requests keep the one they started with. */
  update(state: CompiledPort): void {
    this.state = state;
    if (this.protocol !== 'HTTPS' || state.tls?.fallback === undefined) return;
    const key = defaultContextKey(state.tls);
    if (key !== this.#fallbackKey) {
      this.#fallbackKey = key;
      (this.server as tls.Server).setSecureContext({ ...SERVER_TLS_OPTIONS, ...defaultContextOptions(state.tls) });
    }
  }

  /**
   * Stop accepting, let in-flight requests finish (responses carry
   * Connection: close when the runtime is draining), close idle keep-alive
   * connections as they become idle, and force-close whatever is left after
   * `graceMs`.
   */
  shutdown(graceMs: number): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      const server = this.server;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        clearInterval(idleSweep);
        clearTimeout(force);
        this.#keepAlive?.stop();
        resolve();
      };
      // The callback runs once every connection (upgraded ones included) has closed.
      server.close(finish);
      this.#closeIdleConnections();
      this.h2.closeGracefully();
      // Connections that finish a response later become idle: keep closing them.
      const idleSweep = setInterval(() => this.#closeIdleConnections(), 50);
      const force = setTimeout(() => {
        this.#closeAllConnections();
        this.h2.destroyAll();
        for (const s of this.upgraded) s.destroy();
        this.upgraded.clear();
        finish();
      }, Math.max(0, graceMs));
      idleSweep.unref();
    });
    return this.#closing;
  }
}

/**
 * Options of an HTTPS server's default context: the fallback certificate
 * (clients without SNI) with its listener's client CAs, and whether clients
 * are asked for a certificate at all. rejectUnauthorized stays false: which
 * listener's rule applies is only known from the SNI, so the decision is
 * clientAllowed()'s (node would otherwise refuse port-wide).
 */
function defaultContextOptions(tls: PortTls | undefined): https.ServerOptions {
  const fallback = tls?.fallback;
  return {
    ...(fallback ? { cert: fallback.certPem, key: fallback.keyPem, sessionIdContext: fallback.sessionIdContext } : {}),
    ...(fallback?.caPems ? { ca: [...fallback.caPems] } : {}),
    requestCert: tls?.requestCert === true,
    rejectUnauthorized: false,
  };
}

function defaultContextKey(tls: PortTls | undefined): string | undefined {
  return tls?.fallback === undefined ? undefined : `${tls.fallback.cacheKey}|${tls.requestCert ? 1 : 0}`;
}
