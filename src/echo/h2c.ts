import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** The HTTP/2 client connection preface (RFC 9113 §3.4). */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER = 9;
const TYPE_HEADERS = 0x1;
const TYPE_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;
/** SETTINGS_MAX_FRAME_SIZE's initial value: the most a HEADERS frame may carry before a server says otherwise. */
const MAX_FRAME = 16_384;
/** A client that sends more than this before its first frame is done is not speaking HTTP/2. */
const SNIFF_LIMIT = 1 << 20;

/**
 * Read the first bytes of a connection on the h2c port and hand the socket,
 * with those bytes put back, to the HTTP/2 server (prior knowledge: the
 * connection starts with the preface) or to the HTTP/1.1 server (anything else).
 */
export function routeByPreface(socket: Socket, onHttp1: (socket: Socket) => void, onHttp2: (socket: Socket) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && seen.length < H2_PREFACE.length) return;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(seen);
    if (isH2) {
      onHttp2(socket); // node:http2 takes over bytes already buffered on the socket
    } else {
      onHttp1(socket);
      socket.resume(); // node:http reads buffered bytes only once the socket flows
    }
  };
  socket.on('data', onData);
}

/** Upgrade: h2c is acceptable: HTTP/1.1, names h2c, carries HTTP2-Settings, and has no body. */
export function isH2cUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string' || !upgrade.toLowerCase().split(/\s*,\s*/).includes('h2c')) return false;
  if (req.headers['http2-settings'] === undefined) return false;
  // Upgrading with a request body would mean replaying it as DATA; such a request is served over HTTP/1.1 instead.
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  return length === undefined || Number(length) === 0;
}

/**
 * Switch an HTTP/1.1 `Upgrade: h2c` request to HTTP/2 (RFC 7540 §3.2).
 * node:http2 cannot adopt an upgraded request as stream 1, so after the 101
 * and the client's preface and first SETTINGS frame, we put into the byte
 * stream a HEADERS frame (stream 1, END_STREAM) that carries the original
 * request, as if the client had sent it over HTTP/2. The HPACK block uses
 * only literals without indexing, so the decoder's table is untouched. The
 * client reads its response on stream 1 as the RFC says.
 */
export function upgradeToH2c(req: IncomingMessage, socket: Socket, head: Buffer, onHttp2: (socket: Socket) => void): void {
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
  const injected = requestAsHeadersFrames(req);
  let seen: Buffer = head;
  const tryRoute = (): boolean => {
    if (seen.length < H2_PREFACE.length + FRAME_HEADER) return false;
    if (!seen.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) {
      socket.destroy();
      return true;
    }
    const firstFrameEnd = H2_PREFACE.length + FRAME_HEADER + seen.readUIntBE(H2_PREFACE.length, 3);
    if (seen.length < firstFrameEnd) return false;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(Buffer.concat([seen.subarray(0, firstFrameEnd), injected, seen.subarray(firstFrameEnd)]));
    onHttp2(socket);
    return true;
  };
  const onData = (chunk: Buffer): void => {
    seen = Buffer.concat([seen, chunk]);
    if (!tryRoute() && seen.length > SNIFF_LIMIT) socket.destroy();
  };
  if (!tryRoute()) socket.on('data', onData);
}

/** Connection-specific fields that HTTP/2 forbids (RFC 9113 §8.2.2), plus what the upgrade itself used. */
const NOT_FORWARDED = new Set(['connection', 'upgrade', 'http2-settings', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'host']);

function requestAsHeadersFrames(req: IncomingMessage): Buffer {
  const dropped = new Set(NOT_FORWARDED);
  const connection = req.headers.connection;
  if (typeof connection === 'string') for (const token of connection.split(',')) dropped.add(token.trim().toLowerCase());
  const fields: Array<[string, string]> = [
    [':method', req.method ?? 'GET'],
    [':scheme', 'http'],
    [':path', req.url ?? '/'],
  ];
  if (req.headers.host !== undefined) fields.push([':authority', req.headers.host]);
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    if (dropped.has(name)) continue;
    const value = req.rawHeaders[i + 1]!;
    if (name === 'te' && value.toLowerCase() !== 'trailers') continue;
    fields.push([name, value]);
  }
  const block = Buffer.concat(fields.map(([name, value]) => literalWithoutIndexing(name, value)));
  const frames: Buffer[] = [];
  for (let offset = 0, first = true; first || offset < block.length; first = false) {
    const piece = block.subarray(offset, offset + MAX_FRAME);
    offset += piece.length;
    const last = offset >= block.length;
    const type = first ? TYPE_HEADERS : TYPE_CONTINUATION;
    const flags = (first ? FLAG_END_STREAM : 0) | (last ? FLAG_END_HEADERS : 0);
    frames.push(frameHeader(piece.length, type, flags, 1), piece);
  }
  return Buffer.concat(frames);
}

function frameHeader(length: number, type: number, flags: number, streamId: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER);
  header.writeUIntBE(length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId & 0x7fffffff, 5);
  return header;
}

/** HPACK "Literal Header Field without Indexing — New Name" (RFC 7541 §6.2.2), no Huffman coding. */
function literalWithoutIndexing(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.of(0x00), hpackInteger(n.length, 7), n, hpackInteger(v.length, 7), v]);
}

/** HPACK integer with an N-bit prefix (RFC 7541 §5.1); the H bit (0) sits above the prefix. */
export function hpackInteger(value: number, prefixBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.of(value);
  const bytes = [max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}
