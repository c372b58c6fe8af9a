import http2, { type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { CompiledPort } from '../compiled.js';
import { handleRequest, type ProxyRuntime } from '../proxy.js';
import { adaptRequest, adaptResponse } from './adapt.js';
import { routeByPreface } from './sniff.js';

/** ALPN list for HTTPS ports that serve HTTP/2 next to HTTP/1.1 (h2 preferred, as browsers expect). */
export const ALPN_H2_AND_H1: readonly string[] = ['h2', 'http/1.1'];

interface SessionEntry {
  open: number;
  idle: NodeJS.Timeout | undefined;
}

export interface H2FrontOptions {
  /** Idle time after which a session with no open stream is closed. */
  readonly idleTimeoutMs: number;
}

/**
 * The HTTP/2 side of one port. It never listens itself: the port's
 * node:http(s) server accepts every connection, and attachCleartext /
 * attachTls route the HTTP/2 ones (preface sniffing on cleartext ports,
 * ALPN "h2" on HTTPS ports) here. Each stream goes through the same
 * handleRequest as an HTTP/1.1 request, so routing, filters, balancing,
 * retries, timeouts, access log and metrics are shared; gRPC bodies and
 * trailers stream through untouched.
 */
export class H2Front {
  readonly server: Http2Server;
  /** Open sessions, with their open stream count and idle timer. */
  readonly sessions = new Map<ServerHttp2Session, SessionEntry>();
  /**
   * Set by closeGracefully / destroyAll. A connection still being sniffed
   * when the port shuts down becomes a session later: it is closed at once.
   */
  #closing: 'no' | 'graceful' | 'now' = 'no';

  constructor(rt: ProxyRuntime, getState: () => CompiledPort, opts: H2FrontOptions) {
    this.server = http2.createServer({
      // Larger than the 64 KiB default: fewer WINDOW_UPDATE round trips for bulk bodies.
      settings: { initialWindowSize: 1 << 20 },
    });
    this.server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      handleRequest(rt, getState(), adaptRequest(req), adaptResponse(res));
    });
    this.server.on('session', (session: ServerHttp2Session) => this.#track(session, opts.idleTimeoutMs));
  }

  /**
   * Count a session's open streams and close it (GOAWAY) after `idleMs` with
   * none, like an idle HTTP/1.1 keep-alive connection. A session with open
   * streams is never idle: a quiet gRPC stream is bounded by its route's
   * timeouts, as an HTTP/1.1 request is. (node's session setTimeout fires only
   * once, so the timer is kept here.)
   */
  #track(session: ServerHttp2Session, idleMs: number): void {
    const entry: SessionEntry = { open: 0, idle: undefined };
    this.sessions.set(session, entry);
    const armIdle = (): void => {
      entry.idle = setTimeout(() => {
        if (entry.open === 0 && !session.closed) session.close();
      }, idleMs);
      entry.idle.unref();
    };
    armIdle();
    session.once('close', () => {
      clearTimeout(entry.idle);
      this.sessions.delete(session);
    });
    // Session errors (client resets, protocol errors) end the session; streams report their own.
    session.on('error', () => undefined);
    session.on('stream', (stream: ServerHttp2Stream) => {
      if (entry.open++ === 0) clearTimeout(entry.idle);
      stream.once('close', () => {
        if (--entry.open === 0 && !session.closed) armIdle();
      });
    });
    // Not inside 'session': node still feeds the buffered preface to the session after this event.
    if (this.#closing === 'graceful') setImmediate(() => session.close());
  }

  /** Cleartext port: HTTP/2 prior-knowledge connections come here, the rest stay with `h1`. */
  attachCleartext(h1: NetServer): void {
    const h1Listeners = h1.listeners('connection') as Array<(socket: Socket) => void>;
    h1.removeAllListeners('connection');
    const toH1 = (socket: Socket): void => {
      for (const l of h1Listeners) l.call(h1, socket);
    };
    const toH2 = (socket: Socket): void => this.#accept(socket);
    h1.on('connection', (socket: Socket) => routeByPreface(socket, toH1, toH2));
  }

  /** HTTPS port: connections that negotiated ALPN "h2" come here, the rest stay with `h1`. */
  attachTls(h1: TlsServer): void {
    const h1Listeners = h1.listeners('secureConnection') as Array<(socket: TLSSocket) => void>;
    h1.removeAllListeners('secureConnection');
    h1.on('secureConnection', (socket: TLSSocket) => {
      if (socket.alpnProtocol === 'h2') {
        this.#accept(socket);
        return;
      }
      for (const l of h1Listeners) l.call(h1, socket);
    });
  }

  #accept(socket: Socket): void {
    if (this.#closing === 'now') socket.destroy();
    else this.server.emit('connection', socket);
  }

  /** GOAWAY to every session: open streams finish, new ones go elsewhere. */
  closeGracefully(): void {
    if (this.#closing === 'no') this.#closing = 'graceful';
    for (const s of this.sessions.keys()) if (!s.closed) s.close();
  }

  destroyAll(): void {
    this.#closing = 'now';
    for (const s of this.sessions.keys()) s.destroy();
    this.sessions.clear();
  }
}
