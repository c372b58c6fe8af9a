import type { Socket } from 'node:net';
import { SluiceError } from '../../errors.js';
import { parseClientHello } from './clienthello.js';

/** Why no ClientHello could be read; `code` is the access log's close reason. */
export class ClientHelloError extends SluiceError {
  constructor(code: 'hello_timeout' | 'not_tls' | 'client_closed', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface HelloRead {
  /** Lower-case SNI, undefined when the client sent none. */
  readonly sni: string | undefined;
  /**
   * Bytes Node consumed from the socket (buffer mode): whoever takes the
   * connection next must see them first (write them upstream, or unshift
   * them). Empty in peek mode, where nothing was consumed.
   */
  readonly consumed: Buffer;
}

export interface HelloOptions {
  /** Give up after this long (slowloris). */
  readonly timeoutMs: number;
  /** Largest ClientHello accepted (records included). */
  readonly maxBytes: number;
  /**
   * recv(MSG_PEEK) on the socket (the native addon): the ClientHello is read
   * without consuming it, so the kernel can later splice from the first byte.
   * Returns null when nothing is queued, an empty buffer at EOF. Without it,
   * the bytes are read in Node and returned in `consumed` (buffer-and-replay).
   */
  readonly peek?: (socket: Socket, maxBytes: number) => Buffer | null;
}

const EMPTY = Buffer.alloc(0);
const PEEK_MAX_DELAY_MS = 20;

/**
 * Read a paused socket's ClientHello and its SNI. The socket must not be
 * flowing; it is left paused. Rejects with a ClientHelloError.
 */
export function readClientHello(socket: Socket, opts: HelloOptions): Promise<HelloRead> {
  return opts.peek ? peekHello(socket, opts, opts.peek) : bufferHello(socket, opts);
}

function bufferHello(socket: Socket, opts: HelloOptions): Promise<HelloRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: ClientHelloError | undefined, sni?: string): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve({ sni, consumed: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const parsed = parseClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks, size), opts.maxBytes);
      if (parsed.status === 'ok') done(undefined, parsed.sni);
      else if (parsed.status === 'invalid') done(new ClientHelloError('not_tls', parsed.reason));
    };
    const onEnd = (): void => done(new ClientHelloError('client_closed', 'the client closed before a complete ClientHello'));
    const onError = (err: Error): void => done(new ClientHelloError('client_closed', `the client connection failed: ${err.message}`, { cause: err }));
    const timer = setTimeout(() => done(new ClientHelloError('hello_timeout', `no complete ClientHello within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
    socket.resume();
  });
}

/**
 * Peek until the ClientHello is complete. Node is not reading the socket, so
 * there is no readable event to wait for: poll with a short backoff (a
 * ClientHello usually arrives with or right after the handshake's last ACK).
 */
function peekHello(socket: Socket, opts: HelloOptions, peek: NonNullable<HelloOptions['peek']>): Promise<HelloRead> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + opts.timeoutMs;
    let delay = 1;
    let lastLength = -1;
    const attempt = (): void => {
      if (socket.destroyed) {
        reject(new ClientHelloError('client_closed', 'the client connection closed before a complete ClientHello'));
        return;
      }
      let data: Buffer | null;
      try {
        data = peek(socket, opts.maxBytes);
      } catch (err) {
        reject(new ClientHelloError('client_closed', `the client connection failed: ${(err as Error).message}`, { cause: err }));
        return;
      }
      if (data !== null) {
        if (data.length === 0) {
          reject(new ClientHelloError('client_closed', 'the client closed before a complete ClientHello'));
          return;
        }
        const parsed = parseClientHello(data, opts.maxBytes);
        if (parsed.status === 'ok') {
          resolve({ sni: parsed.sni, consumed: EMPTY });
          return;
        }
        if (parsed.status === 'invalid') {
          reject(new ClientHelloError('not_tls', parsed.reason));
          return;
        }
        if (data.length !== lastLength) {
          lastLength = data.length;
          delay = 1;
        }
      }
      if (Date.now() >= deadline) {
        reject(new ClientHelloError('hello_timeout', `no complete ClientHello within ${opts.timeoutMs} ms`));
        return;
      }
      setTimeout(attempt, delay);
      delay = Math.min(delay * 2, PEEK_MAX_DELAY_MS);
    };
    attempt();
  });
}
