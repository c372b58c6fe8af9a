import type { Socket } from 'node:net';

/**
 * One write straight to a socket's libuv handle, bypassing net.Socket's
 * Writable machinery (write request object, callbacks deferred to the next
 * tick, buffering bookkeeping): for the two small writes of every proxied
 * request (the request head upstream, the whole small response downstream)
 * that machinery costs more than the rest of the request's JS. It is what
 * net.Socket does underneath, with node's `stream_wrap` binding (Node is
 * pinned). Only used when the socket has nothing queued of its own, so
 * bytes stay in order; libuv keeps a write it could not finish at once and
 * orders it before anything written later (or a shutdown). Any other case,
 * or a Node without the binding, falls back to socket.write().
 */

interface WriteReq {
  handle: unknown;
  oncomplete: (status: number) => void;
  async: boolean;
  bytes: number;
  buffer: Buffer | string | null;
}

interface StreamWrapBinding {
  readonly WriteWrap: new () => WriteReq;
  readonly streamBaseState: Int32Array;
  readonly kLastWriteWasAsync: number;
}

interface WritableHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writeLatin1String(req: WriteReq, data: string): number;
}

function loadBinding(): StreamWrapBinding | undefined {
  try {
    const b = (process as unknown as { binding(name: string): unknown }).binding('stream_wrap') as Partial<StreamWrapBinding>;
    if (typeof b.WriteWrap === 'function' && b.streamBaseState instanceof Int32Array && typeof b.kLastWriteWasAsync === 'number') {
      return b as StreamWrapBinding;
    }
  } catch {
    // Not available on this Node: socket.write() it is.
  }
  return undefined;
}

const binding = process.env.SLUICE_DIRECT_WRITE === '0' ? undefined : loadBinding();

/**
 * A write request object for the next write. A write that completes at once
 * (the usual case) leaves it untouched (node only binds it to a native
 * request when libuv has to keep the write), so it serves the next one too.
 */
let spare: (WriteReq & { socket: TrackedSocket | null }) | undefined;

/** Direct writes of a socket still in flight in libuv (set only while there are some). */
const kInFlight = Symbol('sluice.directWritesInFlight');
type TrackedSocket = Socket & { [kInFlight]?: number };

/** Bytes written to `socket` that have not left for the kernel yet (queued in net.Socket, or a direct write libuv holds). */
export function hasPendingWrites(socket: TrackedSocket): boolean {
  return socket.writableLength !== 0 || (socket[kInFlight] ?? 0) > 0;
}

/** A write libuv finished later: a failure closes the socket (as net.Socket would). */
function onAsyncComplete(this: WriteReq & { socket: TrackedSocket | null }, status: number): void {
  this.buffer = null;
  const socket = this.socket;
  if (socket === null) return;
  socket[kInFlight] = (socket[kInFlight] ?? 1) - 1;
  if (status < 0) socket.destroy();
}

/** Write `data` (a latin1 string or bytes) to `socket`; true when done or queued, false on a closed socket. */
export function writeDirect(socket: TrackedSocket, data: Buffer | string): boolean {
  const handle = (socket as unknown as { _handle?: WritableHandle | null })._handle;
  if (
    binding === undefined || handle === null || handle === undefined || socket.connecting || socket.destroyed
    || !socket.writable || socket.writableLength !== 0 || socket.writableCorked !== 0 || socket[kInFlight] !== undefined && socket[kInFlight] > 0
  ) {
    // From here on net.Socket queues (after what libuv holds) and accounts for backpressure.
    return socket.write(data, 'latin1');
  }
  let req = spare;
  if (req === undefined) {
    req = new binding.WriteWrap() as WriteReq & { socket: TrackedSocket | null };
    req.oncomplete = onAsyncComplete;
    req.async = false;
    req.bytes = 0;
    req.buffer = null;
    spare = req;
  }
  req.handle = handle;
  req.socket = socket;
  const err = typeof data === 'string' ? handle.writeLatin1String(req, data) : handle.writeBuffer(req, data);
  if (binding.streamBaseState[binding.kLastWriteWasAsync] !== 0 && err === 0) {
    // Still in flight: this request object now belongs to the write; keep the bytes alive until libuv is done.
    spare = undefined;
    req.async = true;
    req.buffer = data;
    socket[kInFlight] = (socket[kInFlight] ?? 0) + 1;
    return true;
  }
  req.handle = null;
  req.socket = null;
  if (err !== 0) {
    socket.destroy();
    return false;
  }
  return true;
}
