/**
 * Userspace relay between two sockets, used when kernel splicing is off or
 * refused for a connection: the same observable semantics as a splice.
 *   - bytes flow both ways (stream pipe() with backpressure);
 *   - half-close: when one side sends FIN, the other side's write half is
 *     ended after the bytes before it (pipe's `end` option), and the opposite
 *     direction keeps flowing;
 *   - an error (RST) on one side resets the other; a side destroyed without
 *     an error closes the other.
 */
import type { Socket } from 'node:net';

/** Result of a finished relay (splice or pipe). */
export interface RelayResult {
  /** Bytes read from A and sent on B. */
  readonly aToB: number;
  readonly bToA: number;
  /** 'kernel' when spliced by the BPF programs, 'userspace' for pipe(). */
  readonly path: 'kernel' | 'userspace';
  /** Error code when the relay ended abnormally (ECONNRESET, ETIMEDOUT, ...). */
  readonly error?: string;
}

export type RelayDone = (result: RelayResult) => void;

export function pipeFallback(a: Socket, b: Socket, onDone?: RelayDone): void {
  let finished = false;
  const startA = a.bytesRead;
  const startB = b.bytesRead;
  const finish = (error?: string) => {
    if (finished) return;
    finished = true;
    onDone?.({ aToB: a.bytesRead - startA, bToA: b.bytesRead - startB, path: 'userspace', ...(error ? { error } : {}) });
  };
  if (a.destroyed || b.destroyed) {
    a.destroy();
    b.destroy();
    finish('ECLOSED');
    return;
  }
  // Without this Node ends a socket's write half as soon as its read half
  // ends, which would cut the opposite direction short.
  a.allowHalfOpen = true;
  b.allowHalfOpen = true;

  const onError = (from: Socket, to: Socket) => (err: NodeJS.ErrnoException) => {
    if (!to.destroyed) to.resetAndDestroy();
    from.destroy();
    finish(err.code ?? 'EIO');
  };
  a.on('error', onError(a, b));
  b.on('error', onError(b, a));
  const onClose = (other: Socket) => () => {
    // After a normal end both halves of the other socket are ended too (it
    // closes by itself once its last bytes are written); otherwise this side
    // went away early and the other one is closed now.
    if (!other.destroyed && !(other.readableEnded && other.writableEnded)) other.destroy();
    if (a.destroyed && b.destroyed) finish();
  };
  a.on('close', onClose(b));
  b.on('close', onClose(a));
  a.pipe(b);
  b.pipe(a);
}
