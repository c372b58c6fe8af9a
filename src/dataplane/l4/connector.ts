import type { Socket } from 'node:net';
import { pipeFallback, type RelayDone } from '../../native/pipe.js';
import { relay, type SpliceEngine } from '../../native/splice.js';

export type { RelayDone, RelayResult } from '../../native/pipe.js';

/**
 * How two connected raw TCP sockets (client, backend) are relayed until both
 * close: half-close each way, RST propagated, backpressure. `done` runs once.
 */
export interface L4Connector {
  relay(client: Socket, upstream: Socket, done: RelayDone): 'kernel' | 'userspace';
  /**
   * recv(MSG_PEEK) on a socket Node is not reading, when the connector splices
   * in the kernel: the ClientHello is then read without consuming it. Returns
   * undefined when bytes must be read in Node instead (buffer-and-replay).
   */
  peeker(): ((socket: Socket, maxBytes: number) => Buffer | null) | undefined;
}

/** stream.pipe() both ways (src/native/pipe.ts semantics). */
export const userspaceConnector: L4Connector = {
  relay(client, upstream, done) {
    pipeFallback(client, upstream, done);
    return 'userspace';
  },
  peeker: () => undefined,
};

/** Kernel splicing through the sockmap engine when it is enabled, userspace piping per connection otherwise. */
export function spliceConnector(engine: SpliceEngine): L4Connector {
  const peek = (socket: Socket, maxBytes: number): Buffer | null => engine.peek(socket, maxBytes);
  return {
    relay: (client, upstream, done) => relay(engine, client, upstream, done),
    peeker: () => (engine.enabled ? peek : undefined),
  };
}
