import net, { type Socket } from 'node:net';
import type { Logger } from '../../util/log.js';
import { Http1Connection, type ConnectionHost } from './connection.js';
import { hasPendingWrites } from './direct-write.js';
import { idleSweepSchedule } from '../keepalive.js';
import type { Http1Request } from './request.js';
import type { Http1Response } from './response.js';

export interface Http1Handlers {
  request(req: Http1Request, res: Http1Response): void;
  upgrade(req: Http1Request, socket: Socket, head: Buffer): void;
}

export interface Http1ServerOptions {
  /** Connections without a request in progress are closed after this long. */
  readonly keepAliveTimeoutMs: number;
  readonly logger: Logger;
}

/**
 * No request in progress and nothing left to flush: an ended response may
 * still sit in the socket's buffers (a slow reader), and destroying the
 * socket then would cut it.
 */
function quiet(conn: Http1Connection): boolean {
  return conn.idle && !hasPendingWrites(conn.socket);
}

/**
 * Sluice's own HTTP/1.1 server: node's llhttp parser fed straight from the
 * socket (HTTP ports) or TLS stream (HTTPS ports accept() their TLS
 * sockets), and a response that writes the status line, headers and a
 * small body with one write. node:http's server costs about
 * three times as much CPU per request (IncomingMessage/ServerResponse
 * streams, per-request timers and bookkeeping), which capped the proxy well
 * below the benchmark goal. It serves what the proxy needs: keep-alive,
 * pipelining (answered in order), request bodies with backpressure, chunked
 * responses and trailers, Expect: 100-continue, and Upgrade hand-over.
 *
 * Idle connections (no request in progress) are closed after the
 * keep-alive timeout by a sweep, not by a timer per request.
 */
export class Http1Server implements ConnectionHost {
  readonly server: net.Server;
  readonly connections = new Set<Http1Connection>();
  readonly keepAliveTimeoutMs: number;
  readonly logger: Logger;
  readonly #sweepMs: number;
  readonly #limitTicks: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(opts: Http1ServerOptions, readonly handlers: Http1Handlers) {
    this.keepAliveTimeoutMs = opts.keepAliveTimeoutMs;
    this.logger = opts.logger;
    ({ sweepMs: this.#sweepMs, limitTicks: this.#limitTicks } = idleSweepSchedule(opts.keepAliveTimeoutMs));
    // allowHalfOpen: the connection decides what a client's FIN means (see Http1Connection).
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
  }

  accept(socket: Socket): void {
    const conn = new Http1Connection(this, socket);
    this.connections.add(conn);
    if (this.#sweeper === undefined) {
      this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs);
      this.#sweeper.unref();
    }
  }

  request(req: Http1Request, res: Http1Response): void {
    this.handlers.request(req, res);
  }

  upgrade(req: Http1Request, socket: Socket, head: Buffer): void {
    this.handlers.upgrade(req, socket, head);
  }

  connectionGone(conn: Http1Connection): void {
    this.connections.delete(conn);
    if (this.connections.size === 0) this.#stopSweep();
  }

  #sweep(): void {
    for (const conn of this.connections) {
      if (!quiet(conn)) conn.idleTicks = 0;
      else if (++conn.idleTicks > this.#limitTicks) conn.socket.destroy();
    }
  }

  #stopSweep(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** Close every connection without a request in progress (shutdown calls this repeatedly). */
  closeIdleConnections(): void {
    for (const conn of this.connections) if (quiet(conn)) conn.socket.destroy();
  }

  closeAllConnections(): void {
    for (const conn of this.connections) conn.socket.destroy();
    this.#stopSweep();
  }
}
