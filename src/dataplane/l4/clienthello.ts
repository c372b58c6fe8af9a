/**
 * Just enough of a TLS ClientHello parser to read the SNI (RFC 8446 4.1.2,
 * RFC 6066 3). It never decrypts or answers anything: the bytes are forwarded
 * untouched (passthrough) or handed to Node's TLS stack (terminate).
 *
 * The handshake message may span several TLS records; records are
 * reassembled until the whole ClientHello is there or `maxBytes` is reached.
 */

export type HelloParse =
  /** More bytes are needed. */
  | { readonly status: 'incomplete' }
  /** A complete ClientHello; `sni` is the lower-case host_name without a trailing dot, if any. */
  | { readonly status: 'ok'; readonly sni: string | undefined }
  /** Not a TLS ClientHello, malformed, or larger than allowed. */
  | { readonly status: 'invalid'; readonly reason: string };

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;
const RECORD_HEADER = 5;
/** RFC 8446 5.1: a record fragment is at most 2^14 bytes (plus expansion for ciphertext, not here). */
const MAX_FRAGMENT = 16384 + 2048;

const INCOMPLETE: HelloParse = { status: 'incomplete' };

function invalid(reason: string): HelloParse {
  return { status: 'invalid', reason };
}

/** Parse the start of a client's byte stream. `maxBytes` bounds the records read (16 KiB by default). */
export function parseClientHello(data: Buffer, maxBytes = 16384): HelloParse {
  if (data.length === 0) return INCOMPLETE;
  if (data[0] !== RECORD_HANDSHAKE) return invalid('not a TLS handshake record');
  // Reassemble the handshake stream from consecutive handshake records.
  const parts: Buffer[] = [];
  let handshakeBytes = 0;
  let needed = -1;
  let offset = 0;
  for (;;) {
    if (needed !== -1 && handshakeBytes >= needed) break;
    if (offset + RECORD_HEADER > data.length) return offset + RECORD_HEADER > maxBytes ? invalid('ClientHello larger than allowed') : INCOMPLETE;
    if (data[offset] !== RECORD_HANDSHAKE) return invalid('ClientHello interleaved with another record type');
    if (data[offset + 1] !== 0x03) return invalid('unknown TLS record version');
    const length = data.readUInt16BE(offset + 3);
    if (length === 0 || length > MAX_FRAGMENT) return invalid('bad TLS record length');
    const end = offset + RECORD_HEADER + length;
    if (end > maxBytes) return invalid('ClientHello larger than allowed');
    if (end > data.length) {
      // Partial record: enough to read the handshake header already?
      if (needed === -1) {
        const partial = Buffer.concat([...parts, data.subarray(offset + RECORD_HEADER)]);
        const early = handshakeHeader(partial);
        if (early !== undefined && typeof early === 'object') return early;
      }
      return INCOMPLETE;
    }
    parts.push(data.subarray(offset + RECORD_HEADER, end));
    handshakeBytes += length;
    offset = end;
    if (needed === -1) {
      const header = handshakeHeader(parts.length === 1 ? parts[0] : Buffer.concat(parts));
      if (typeof header === 'object') return header;
      if (header !== undefined) needed = header;
    }
  }
  const handshake = parts.length === 1 ? parts[0] : Buffer.concat(parts);
  return parseHelloBody(handshake.subarray(4, needed));
}

/** Total handshake length (header included) once the 4-byte header is there; an 'invalid' parse for a non-ClientHello. */
function handshakeHeader(h: Buffer): number | HelloParse | undefined {
  if (h.length < 1) return undefined;
  if (h[0] !== HANDSHAKE_CLIENT_HELLO) return invalid('first handshake message is not a ClientHello');
  if (h.length < 4) return undefined;
  return 4 + h.readUIntBE(1, 3);
}

function parseHelloBody(b: Buffer): HelloParse {
  // legacy_version(2) random(32)
  let p = 34;
  if (b.length < p + 1) return invalid('truncated ClientHello');
  p += 1 + b[p]; // legacy_session_id
  if (b.length < p + 2) return invalid('truncated ClientHello');
  p += 2 + b.readUInt16BE(p); // cipher_suites
  if (b.length < p + 1) return invalid('truncated ClientHello');
  p += 1 + b[p]; // legacy_compression_methods
  if (p === b.length) return { status: 'ok', sni: undefined }; // no extensions (old clients)
  if (b.length < p + 2) return invalid('truncated ClientHello');
  const extEnd = p + 2 + b.readUInt16BE(p);
  if (extEnd > b.length) return invalid('truncated ClientHello extensions');
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    const start = p + 4;
    if (start + len > extEnd) return invalid('truncated ClientHello extension');
    if (type === EXT_SERVER_NAME) return parseServerName(b.subarray(start, start + len));
    p = start + len;
  }
  return { status: 'ok', sni: undefined };
}

function parseServerName(e: Buffer): HelloParse {
  if (e.length < 2) return invalid('malformed server_name extension');
  const listEnd = 2 + e.readUInt16BE(0);
  if (listEnd > e.length) return invalid('malformed server_name extension');
  let p = 2;
  while (p + 3 <= listEnd) {
    const type = e[p];
    const len = e.readUInt16BE(p + 1);
    const start = p + 3;
    if (start + len > listEnd) return invalid('malformed server_name extension');
    if (type === NAME_TYPE_HOST) {
      const name = e.toString('latin1', start, start + len);
      if (!/^[\x21-\x7e]{1,255}$/.test(name)) return invalid('server_name is not an ASCII host name');
      let host = name.toLowerCase();
      if (host.endsWith('.')) host = host.slice(0, -1);
      return { status: 'ok', sni: host === '' ? undefined : host };
    }
    p = start + len;
  }
  return { status: 'ok', sni: undefined };
}
