import type { Socket } from 'node:net';

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Same as the HTTP/1.1 servers' headersTimeout. */
export const SNIFF_TIMEOUT_MS = 60_000;

/**
 * Read just enough of a new cleartext connection to tell HTTP/2 prior
 * knowledge (it starts with the preface) from HTTP/1.x (anything else), put
 * the bytes back and hand the socket over. Decides on the first byte that
 * differs from the preface, so HTTP/1.1 clients wait for nothing extra.
 */
export function routeByPreface(
  socket: Socket,
  onHttp1: (socket: Socket) => void,
  onHttp2: (socket: Socket) => void,
  /** A client silent this long is dropped (the HTTP/1.1 server's headersTimeout is not running yet). */
  timeoutMs = SNIFF_TIMEOUT_MS,
): void {
  let seen: Buffer | undefined;
  const onData = (chunk: Buffer): void => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.compare(H2_PREFACE, 0, n, 0, n) === 0;
    if (isH2 && seen.length < H2_PREFACE.length) return;
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onError);
    clearTimeout(timer);
    socket.pause();
    socket.unshift(seen);
    if (isH2) {
      // node:http2 takes over bytes already buffered on the socket.
      onHttp2(socket);
    } else {
      onHttp1(socket);
      // node:http reads the put-back bytes only once the socket flows again.
      socket.resume();
    }
  };
  // A client that connects and closes without a byte: nothing to route.
  const onEnd = (): void => {
    socket.off('data', onData);
    clearTimeout(timer);
    socket.destroy();
  };
  // Until a server owns the socket, nobody else listens for its errors.
  const onError = (): void => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    clearTimeout(timer);
    socket.destroy();
  };
  const timer = setTimeout(onError, timeoutMs);
  timer.unref();
  socket.on('data', onData);
  socket.once('end', onEnd);
  socket.once('error', onError);
}
