import net, { type Socket } from 'node:net';
import type { PortServer } from '../listeners.js';
import { bindAll } from '../bind.js';
import { handleTcpConnection, type TcpConnectionDeps } from './tcpconn.js';
import type { CompiledL4Port } from './types.js';

export type TcpServerDeps = Omit<TcpConnectionDeps, 'https' | 'track'>;

/**
 * One bound TCP-based L4 port (TCP, TLS, or HTTPS shared with TLS listeners).
 * Connections are accepted paused, so no byte is read before a route is
 * chosen. The server stays bound across tables; each connection reads
 * `state` once when it starts.
 */
export class L4TcpServer {
  state: CompiledL4Port;
  readonly server: net.Server;
  readonly transport = 'tcp' as const;
  /** The address actually bound ('::' or '0.0.0.0' for the all-addresses bind). */
  boundAddress = '';
  /** Client sockets (including those handed to the HTTPS server) and the sockets serving them. */
  readonly #sockets = new Set<Socket>();
  #https: PortServer | undefined;
  #closing: Promise<void> | undefined;

  constructor(deps: TcpServerDeps, state: CompiledL4Port, https: PortServer | undefined) {
    this.state = state;
    this.#https = https;
    const track = (s: Socket): void => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    };
    const connDeps: TcpConnectionDeps = {
      logger: deps.logger,
      observer: deps.observer,
      // A getter, not a copy: the plane may switch to kernel splicing later.
      get connector() {
        return deps.connector;
      },
      helloTimeoutMs: deps.helloTimeoutMs,
      helloMaxBytes: deps.helloMaxBytes,
      connectTimeoutMs: deps.connectTimeoutMs,
      tcpIdleTimeoutMs: deps.tcpIdleTimeoutMs,
      https: (socket) => {
        const target = this.#https;
        if (target === undefined) socket.destroy();
        else target.server.emit('connection', socket);
      },
      track,
    };
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (client) => {
      track(client);
      handleTcpConnection(this.state, client, connDeps).catch((err: Error) => {
        deps.logger.error({ port: this.state.key, err: err.message }, 'L4 connection failed unexpectedly');
        client.destroy();
      });
    });
  }

  async listen(): Promise<void> {
    this.boundAddress = await bindAll(this.state.address, this.state.port, (host) => new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server.off('listening', onListening);
        reject(err);
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen({ host, port: this.state.port, ipv6Only: false, exclusive: true });
    }));
  }

  get boundPort(): number {
    const a = this.server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** The HTTPS server that connections for HTTPS listeners are handed to (shared ports), if any. */
  get https(): PortServer | undefined {
    return this.#https;
  }

  /** Swap in a new compiled port. Open connections keep what they started with. */
  update(state: CompiledL4Port, https: PortServer | undefined): void {
    this.state = state;
    this.#https = https;
  }

  /** Stop accepting; open connections get `graceMs` to finish, then are closed. */
  shutdown(graceMs: number): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.server.close();
      const https = this.#https?.shutdown(graceMs);
      const finish = (): void => {
        clearInterval(poll);
        clearTimeout(force);
        (https ?? Promise.resolve()).then(() => resolve(), () => resolve());
      };
      const poll = setInterval(() => {
        if (this.#sockets.size === 0) finish();
      }, 50);
      const force = setTimeout(() => {
        for (const s of this.#sockets) s.destroy();
        this.#sockets.clear();
        finish();
      }, Math.max(0, graceMs));
      if (this.#sockets.size === 0) finish();
    });
    return this.#closing;
  }
}
