import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { RelayDone } from './connector.js';

/**
 * Relay between a TLS-terminated client and a plaintext backend socket, with
 * the semantics of the raw relay (src/native/pipe.ts):
 *   - backpressure (pipe() both ways);
 *   - half-close: the client's close_notify/FIN ends the backend's write half
 *     after the bytes before it, and the backend's FIN ends the TLS session
 *     (close_notify + FIN) while the other direction keeps flowing;
 *   - an error on one side resets the other. A TLSSocket cannot be reset
 *     itself, so the client's raw TCP socket underneath is.
 * Counts plaintext bytes.
 */
export function relayTerminated(client: TLSSocket, raw: Socket, upstream: Socket, done: RelayDone): void {
  let finished = false;
  let aToB = 0;
  let bToA = 0;
  const finish = (error?: string): void => {
    if (finished) return;
    finished = true;
    done({ aToB, bToA, path: 'userspace', ...(error ? { error } : {}) });
  };
  client.allowHalfOpen = true;
  upstream.allowHalfOpen = true;
  client.on('data', (d: Buffer) => {
    aToB += d.length;
  });
  upstream.on('data', (d: Buffer) => {
    bToA += d.length;
  });
  client.on('error', (err: NodeJS.ErrnoException) => {
    if (!upstream.destroyed) upstream.resetAndDestroy();
    client.destroy();
    finish(err.code ?? 'EIO');
  });
  upstream.on('error', (err: NodeJS.ErrnoException) => {
    resetRaw(raw, client);
    upstream.destroy();
    finish(err.code ?? 'EIO');
  });
  const onClose = (other: Socket) => (): void => {
    if (!other.destroyed && !(other.readableEnded && other.writableEnded)) other.destroy();
    if (client.destroyed && upstream.destroyed) finish();
  };
  client.on('close', onClose(upstream));
  upstream.on('close', onClose(client));
  client.pipe(upstream);
  upstream.pipe(client);
}

/** RST the client's TCP connection under its TLS layer (the TLSSocket then errors with EBADF, handled by the caller). */
export function resetRaw(raw: Socket, tlsSide: TLSSocket | undefined): void {
  try {
    if (!raw.destroyed) raw.resetAndDestroy();
  } catch {
    raw.destroy();
  }
  tlsSide?.destroy();
}
