/**
 * Header plumbing for the hot path. Headers travel as flat arrays
 * [name, value, name, value, ...] (what node:http rawHeaders, undici and
 * ServerResponse.writeHead all accept) so nothing is converted twice.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { FrontRequest } from './front.js';

const lowerCache = new Map<string, string>();
const LOWER_CACHE_MAX = 4096;

/** Lower-cased header name, cached: the same few dozen spellings repeat on every request. */
export function lowerName(name: string): string {
  let lower = lowerCache.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerCache.size >= LOWER_CACHE_MAX) lowerCache.clear();
    lowerCache.set(name, lower);
  }
  return lower;
}

/** Request headers never forwarded upstream (RFC 9110 §7.6.1 plus proxy-connection and http2-settings). */
const HOP_BY_HOP_REQUEST: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings',
  // undici refuses `expect`; node:http already answered 100-continue to the client.
  'expect',
  // Replaced by the proxy's own values below.
  'host', 'x-forwarded-proto', 'x-forwarded-host',
]);

/** Response headers never forwarded downstream. */
const HOP_BY_HOP_RESPONSE: ReadonlySet<string> = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'http2-settings', 'te', 'trailer',
]);

/** Extra hop-by-hop names listed in a Connection header (rare: only computed when present). */
function connectionTokens(value: string): Set<string> | undefined {
  // The usual values name no extra header: skip the split.
  if (value.length <= 10) {
    const v = value.toLowerCase();
    if (v === 'keep-alive' || v === 'close' || v === 'upgrade') return undefined;
  }
  let tokens: Set<string> | undefined;
  for (const raw of value.split(',')) {
    const t = raw.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    (tokens ??= new Set()).add(t);
  }
  return tokens;
}

/**
 * Upstream request headers from the client's rawHeaders: hop-by-hop headers
 * removed (including those named in Connection), `te` kept only as "trailers",
 * a single Host / Content-Length, X-Forwarded-For appended (with `clientIp`)
 * and X-Forwarded-Proto / X-Forwarded-Host set. Host is always the first pair.
 */
export function buildRequestHeaders(raw: readonly string[], host: string, clientIp: string, proto: string, lowerNames?: readonly string[]): string[] {
  const out: string[] = ['host', host];
  let xff: string | undefined;
  let connection: string | undefined;
  let sawContentLength = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = lowerNames === undefined ? lowerName(name) : lowerNames[i];
    if (HOP_BY_HOP_REQUEST.has(lower)) {
      if (lower === 'connection') connection = raw[i + 1];
      continue;
    }
    const value = raw[i + 1];
    if (lower === 'x-forwarded-for') {
      xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    if (lower === 'te') {
      if (value.trim().toLowerCase() === 'trailers') out.push('te', 'trailers');
      continue;
    }
    if (lower === 'content-length') {
      if (sawContentLength) continue;
      sawContentLength = true;
    }
    out.push(name, value);
  }
  // Headers named in Connection are hop-by-hop too (rare: only then a second pass).
  const extraHop = connection === undefined ? undefined : connectionTokens(connection);
  if (extraHop !== undefined) removeNamed(out, extraHop);
  out.push(
    'x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`,
    'x-forwarded-proto', proto,
    'x-forwarded-host', host,
  );
  return out;
}

/** Whether request headers announce a body: a Content-Length other than 0, or a transfer coding. */
export function announcesBody(headers: IncomingHttpHeaders): boolean {
  const cl = headers['content-length'];
  if (cl !== undefined) return cl !== '0';
  return headers['transfer-encoding'] !== undefined;
}

/** The upstream request headers of a client request (see buildRequestHeaders); `host` when it sent none. */
export function upstreamRequestHeaders(req: FrontRequest, host: string, proto: string): string[] {
  const ip = req.clientIp ?? clientAddress(req.socket.remoteAddress);
  return buildRequestHeaders(req.rawHeaders, req.headers.host ?? host, ip, proto, req.lowerHeaderNames);
}

/** Remove, in place, every pair whose lower-cased name is in `names`. */
function removeNamed(h: string[], names: ReadonlySet<string>): void {
  let w = 0;
  for (let r = 0; r < h.length; r += 2) {
    if (names.has(lowerName(h[r]))) continue;
    h[w] = h[r];
    h[w + 1] = h[r + 1];
    w += 2;
  }
  h.length = w;
}

/** Set (or add) the Host pair of a flat header array. */
export function setHost(h: string[], host: string): void {
  for (let i = 0; i < h.length; i += 2) {
    if (lowerName(h[i]) === 'host') {
      h[i + 1] = host;
      return;
    }
  }
  h.push('host', host);
}

/** The client address as X-Forwarded-For shows it (IPv4-mapped IPv6 unwrapped). */
export function clientAddress(remote: string | undefined): string {
  if (remote === undefined) return '';
  return remote.startsWith('::ffff:') && remote.indexOf('.') !== -1 ? remote.slice(7) : remote;
}

/**
 * Response headers from undici's parsed object (lower-case names, string or
 * string[] values) to a flat array, without hop-by-hop headers.
 */
export function responseHeadersFromObject(headers: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  let extraHop: Set<string> | undefined;
  const conn = headers.connection;
  if (typeof conn === 'string') extraHop = connectionTokens(conn);
  for (const name in headers) {
    if (HOP_BY_HOP_RESPONSE.has(name) || name.charCodeAt(0) === 58 /* ':' pseudo-header */) continue;
    if (extraHop !== undefined && extraHop.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      out.push(name, value);
    } else {
      for (let j = 0; j < value.length; j++) out.push(name, value[j]);
    }
  }
  return out;
}

/** Compiled RequestHeaderModifier / ResponseHeaderModifier. */
export interface HeaderModifier {
  /** Lower-case names to drop first: `remove` plus the names `set` replaces. */
  readonly drop: ReadonlySet<string>;
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly lower: string; readonly value: string }[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BAD_VALUE = /[\r\n\0]/;

/** A header a proxy may write: a token name and a value without CR, LF or NUL (no header injection). */
export function isSafeHeader(name: string, value: string): boolean {
  return TOKEN.test(name) && !BAD_VALUE.test(value);
}

/** Compile a header modifier filter. Entries that are not safe to write are dropped (see isSafeHeader). */
export function compileHeaderModifier(f: {
  set: readonly { name: string; value: string }[];
  add: readonly { name: string; value: string }[];
  remove: readonly string[];
}): HeaderModifier {
  const drop = new Set<string>();
  const set = f.set.filter((h) => isSafeHeader(h.name, h.value));
  const add = f.add.filter((h) => isSafeHeader(h.name, h.value));
  for (const r of f.remove) drop.add(r.toLowerCase());
  for (const s of set) drop.add(s.name.toLowerCase());
  return {
    drop,
    set: set.map((s) => ({ name: s.name, value: s.value })),
    add: add.map((a) => ({ name: a.name, lower: a.name.toLowerCase(), value: a.value })),
  };
}

/**
 * Apply a modifier to a flat header array in place: remove, then set
 * (replacing every existing value), then add (appending to an existing value
 * with "," as the spec's examples show; Set-Cookie gets its own line).
 */
export function applyHeaderModifier(h: string[], mod: HeaderModifier): void {
  if (mod.drop.size !== 0) {
    let w = 0;
    for (let r = 0; r < h.length; r += 2) {
      if (mod.drop.has(lowerName(h[r]))) continue;
      if (w !== r) {
        h[w] = h[r];
        h[w + 1] = h[r + 1];
      }
      w += 2;
    }
    h.length = w;
  }
  for (const s of mod.set) h.push(s.name, s.value);
  for (const a of mod.add) {
    let found = -1;
    if (a.lower !== 'set-cookie') {
      for (let i = 0; i < h.length; i += 2) {
        if (lowerName(h[i]) === a.lower) {
          found = i;
          break;
        }
      }
    }
    if (found === -1) h.push(a.name, a.value);
    else h[found + 1] = `${h[found + 1]},${a.value}`;
  }
}

/** First value of a header in a flat array (case-insensitive), or undefined. */
export function findHeader(h: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < h.length; i += 2) if (lowerName(h[i]) === lower) return h[i + 1];
  return undefined;
}

/** Response headers from a flat raw list (any case), without hop-by-hop headers. */
export function responseHeadersFromRaw(raw: readonly string[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const lower = lowerName(name);
    if (HOP_BY_HOP_RESPONSE.has(lower)) {
      if (lower === 'connection') connection = raw[i + 1];
      continue;
    }
    out.push(name, raw[i + 1]);
  }
  const extraHop = connection === undefined ? undefined : connectionTokens(connection);
  if (extraHop !== undefined) removeNamed(out, extraHop);
  return out;
}
