import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/**
 * node's own llhttp binding, the parser node:http runs on. `_http_common` is
 * an undocumented core module, stable for years; Sluice pins its Node
 * version. Both the native upstream client and the HTTP/1.1 server use it.
 */
export interface NativeParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | Error;
  finish(): number | Error | undefined;
  /** Read straight from a libuv stream handle: reads reach the parser without a JS 'data' event. */
  consume(handle: object): void;
  unconsume(): void;
  /** The buffer of the read being parsed (consume mode). */
  getCurrentBuffer(): Buffer;
  close(): void;
  [key: number]: unknown;
}

export interface NativeParserClass {
  new(): NativeParser;
  readonly REQUEST: number;
  readonly RESPONSE: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
}

/** What execute() returns on malformed input. */
export interface ParseError extends Error {
  readonly code?: string;
  readonly bytesParsed?: number;
}

const require = createRequire(import.meta.url);
const common = require('_http_common') as { HTTPParser: NativeParserClass; methods: readonly string[] };

export const HTTPParser = common.HTTPParser;
/** Method names by the index onHeadersComplete reports. */
export const METHODS = common.methods;

/** The libuv stream handle under a net.Socket. */
interface StreamHandle {
  isStreamBase?: boolean;
  _consumed?: boolean;
  reading: boolean;
  readStart(): number;
  readStop(): number;
}

function streamHandle(socket: Socket): StreamHandle | undefined {
  return (socket as unknown as { _handle?: StreamHandle | null })._handle ?? undefined;
}

/**
 * Let `parser` read the socket straight from its handle, as node:http does:
 * reads reach the parser in C++, with no 'data' event and no Buffer per
 * read; end of stream and errors still arrive as socket events. False when
 * the socket has no consumable handle (then feed it from 'data').
 */
export function consumeSocket(parser: NativeParser, socket: Socket): boolean {
  const handle = streamHandle(socket);
  if (handle?.isStreamBase !== true || handle._consumed === true) return false;
  handle._consumed = true;
  parser.consume(handle);
  return true;
}

/** Stop reading a consumed socket (socket.pause() alone does not stop its handle). */
export function stopReading(socket: Socket): void {
  socket.pause();
  const handle = streamHandle(socket);
  if (handle !== undefined && handle.reading) {
    handle.reading = false;
    handle.readStop();
  }
}

export function startReading(socket: Socket): void {
  socket.resume();
  const handle = streamHandle(socket);
  if (handle !== undefined && !handle.reading) {
    handle.reading = true;
    handle.readStart();
  }
}
