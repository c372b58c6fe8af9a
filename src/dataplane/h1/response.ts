import { EventEmitter } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { SluiceError } from '../../errors.js';
import { writeDirect } from './direct-write.js';
import type { Http1Request } from './request.js';

/** The connection a response writes to. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** Announced as `Keep-Alive: timeout=N` on keep-alive responses (0: no such header). */
  readonly keepAliveTimeoutMs: number;
  /** The response is complete (written to the socket) or abandoned. */
  responseDone(res: Http1Response, keepAlive: boolean): void;
}

export class ResponseHeadError extends SluiceError {}

/** Characters of an RFC 9110 token (a valid field name), by code. */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHAR[c.charCodeAt(0)] = 1;

/** A loop, not a regex: it runs for every header of every response, and short names are the norm. */
function isToken(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c >= 128 || TOKEN_CHAR[c] === 0) return false;
  }
  return true;
}

/** What node:http also refuses in a field value: controls other than tab, DEL, and anything past latin1. */
function isFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false;
  }
  return true;
}
const CONNECTION_CLOSE = /(?:^|\W)close(?:$|\W)/i;
const CHUNKED = /(?:^|\W)chunked(?:$|\W)/i;
/** Below this many bytes the head and the body are copied into one buffer (one write, no writev). */
const COALESCE_MAX = 16 * 1024;
const LAST_CHUNK = '0\r\n\r\n';

const statusLines = new Map<number, string>();
function statusLine(status: number): string {
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
    statusLines.set(status, line);
  }
  return line;
}

let keepAliveMs = -1;
let keepAliveText = '';
/** `Connection: keep-alive` and `Keep-Alive: timeout=N` (none for 0), built once per timeout value. */
function keepAliveLines(ms: number): string {
  if (ms !== keepAliveMs) {
    keepAliveMs = ms;
    keepAliveText = `Connection: keep-alive\r\n${ms > 0 ? `Keep-Alive: timeout=${Math.floor(ms / 1000)}\r\n` : ''}`;
  }
  return keepAliveText;
}

let dateCache = '';
let dateUntil = 0;
/** The Date header value, recomputed at most once a second. */
function httpDate(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    dateCache = new Date(now).toUTCString();
    dateUntil = now - (now % 1000) + 1000;
  }
  return dateCache;
}

/**
 * The answer to one Http1Request: the part of node's ServerResponse that the
 * proxy uses (writeHead with a flat header list, write, end, addTrailers,
 * destroy, headersSent, statusCode, 'close' and 'drain'), with node's
 * framing rules: Content-Length when given, else chunked for HTTP/1.1
 * clients and close-delimited for HTTP/1.0 ones; no body for HEAD, 204 and
 * 304; Date, and Connection: keep-alive / close as node writes them.
 *
 * The status line and headers wait for the first body bytes (or end), so a
 * small response leaves in a single write.
 */
export class Http1Response extends EventEmitter {
  statusCode = 200;
  headersSent = false;
  /** end() was called or the response was abandoned. */
  finished = false;
  #head: string | null = null;
  #chunked = false;
  #hasBody: boolean;
  #keepAlive: boolean;
  #trailers: Record<string, string> | null = null;

  constructor(readonly owner: ResponseOwner, readonly req: Http1Request) {
    super();
    this.#hasBody = req.method !== 'HEAD';
    this.#keepAlive = req.shouldKeepAlive;
  }

  writeHead(status: number, headers?: readonly string[]): this {
    if (this.headersSent) throw new ResponseHeadError('ERR_HTTP_HEADERS_SENT', 'response headers were already sent');
    if (!Number.isInteger(status) || status < 100 || status > 999) throw new ResponseHeadError('ERR_HTTP_INVALID_STATUS_CODE', `invalid status code ${status}`);
    // A head refused below (invalid field) must not leave its Transfer-Encoding behind for the next writeHead.
    this.#chunked = false;
    let head = statusLine(status);
    let hasLength = false;
    let hasCoding = false;
    let hasConnection = false;
    let hasDate = false;
    let hasKeepAlive = false;
    let close = false;
    if (headers !== undefined) {
      if (headers.length % 2 !== 0) throw new ResponseHeadError('ERR_INVALID_ARG_VALUE', 'header list must hold name/value pairs');
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i];
        const value = headers[i + 1];
        if (!isToken(name)) throw new ResponseHeadError('ERR_INVALID_HTTP_TOKEN', `invalid header name ${JSON.stringify(name)}`);
        if (!isFieldValue(value)) throw new ResponseHeadError('ERR_INVALID_CHAR', `invalid character in header ${JSON.stringify(name)}`);
        head += `${name}: ${value}\r\n`;
        // Only these lengths can be a name that matters here (date 4, connection/keep-alive 10,
        // content-length 14, transfer-encoding 17): no lower-casing of the others.
        const len = name.length;
        if (len !== 4 && len !== 10 && len !== 14 && len !== 17) continue;
        switch (name.toLowerCase()) {
          case 'content-length':
            hasLength = true;
            break;
          case 'transfer-encoding':
            hasCoding = true;
            if (CHUNKED.test(value)) this.#chunked = true;
            break;
          case 'connection':
            hasConnection = true;
            if (CONNECTION_CLOSE.test(value)) close = true;
            break;
          case 'date':
            hasDate = true;
            break;
          case 'keep-alive':
            hasKeepAlive = true;
            break;
        }
      }
    }
    this.statusCode = status;
    if (status === 204 || status === 304 || status < 200) this.#hasBody = false;
    if (!hasDate) head += `Date: ${httpDate()}\r\n`;
    if (this.#chunked && !this.#hasBody) {
      this.#chunked = false;
      this.#keepAlive = false;
    }
    const req = this.req;
    const http11 = req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1);
    // HTTP/1.0 clients get chunked bodies only when they asked for them (TE: chunked).
    const chunkedByDefault = http11 || CHUNKED.test(String(req.headers.te ?? ''));
    let keepAlive = this.#keepAlive && !close;
    if (!hasConnection) {
      if (keepAlive && (hasLength || chunkedByDefault)) {
        head += hasKeepAlive ? 'Connection: keep-alive\r\n' : keepAliveLines(this.owner.keepAliveTimeoutMs);
      } else {
        keepAlive = false;
        head += 'Connection: close\r\n';
      }
    }
    if (!hasLength && !hasCoding && this.#hasBody) {
      if (chunkedByDefault) {
        head += 'Transfer-Encoding: chunked\r\n';
        this.#chunked = true;
      } else {
        // The body ends when the connection does.
        keepAlive = false;
      }
    }
    this.#keepAlive = keepAlive;
    this.#head = `${head}\r\n`;
    this.headersSent = true;
    return this;
  }

  /** Write body bytes; false when the socket's buffer is full ('drain' follows). */
  write(chunk: Buffer | string): boolean {
    if (this.finished) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!this.#hasBody) return true;
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (body.length === 0) return this.#flushHead() ?? true;
    if (this.#chunked) return this.#send(`${body.length.toString(16)}\r\n`, body, '\r\n');
    return this.#send('', body, '');
  }

  end(chunk?: Buffer | string): this {
    if (this.finished) return this;
    const body = chunk === undefined ? undefined : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!this.headersSent) {
      const status = this.statusCode;
      // 204 and 304 have no body to measure: a Content-Length there is forbidden (204) or misleading (304).
      this.writeHead(status, status === 204 || status === 304 ? undefined : ['content-length', String(body?.length ?? 0)]);
    }
    this.finished = true;
    let tail = '';
    if (this.#chunked) {
      tail = LAST_CHUNK;
      const t = this.#trailers;
      if (t !== null) {
        tail = '0\r\n';
        for (const name in t) tail += `${name}: ${t[name]}\r\n`;
        tail += '\r\n';
      }
    }
    if (!this.#hasBody || body === undefined || body.length === 0) {
      const head = this.#takeHead();
      const text = head + (this.#hasBody ? tail : '');
      if (text.length !== 0) writeDirect(this.owner.socket, text);
    } else if (this.#chunked) {
      this.#send(`${body.length.toString(16)}\r\n`, body, `\r\n${tail}`);
    } else {
      this.#send('', body, '');
    }
    this.owner.responseDone(this, this.#keepAlive);
    this.emit('close');
    return this;
  }

  addTrailers(trailers: Record<string, string>): void {
    for (const name in trailers) {
      const value = trailers[name];
      if (!isToken(name) || !isFieldValue(value)) throw new ResponseHeadError('ERR_INVALID_CHAR', `invalid trailer ${JSON.stringify(name)}`);
    }
    this.#trailers = { ...this.#trailers, ...trailers };
  }

  /** Abandon the response: the connection is closed (a client sees a truncated answer). */
  destroy(): this {
    this.owner.socket.destroy();
    return this;
  }

  /** The connection closed before end(): tell the listeners once. */
  abandoned(): void {
    if (this.finished) return;
    this.finished = true;
    this.emit('close');
  }

  #takeHead(): string {
    const head = this.#head ?? '';
    this.#head = null;
    return head;
  }

  #flushHead(): boolean | undefined {
    if (this.#head === null) return undefined;
    return writeDirect(this.owner.socket, this.#takeHead());
  }

  /** prefix + body + suffix (prefix/suffix latin1 framing), after the pending head, in as few writes as sensible. */
  #send(prefix: string, body: Buffer, suffix: string): boolean {
    const socket = this.owner.socket;
    const head = this.#takeHead() + prefix;
    if (body.length <= COALESCE_MAX) {
      const out = Buffer.allocUnsafe(head.length + body.length + suffix.length);
      out.write(head, 0, 'latin1');
      body.copy(out, head.length);
      if (suffix.length !== 0) out.write(suffix, head.length + body.length, 'latin1');
      return writeDirect(socket, out);
    }
    socket.cork();
    if (head.length !== 0) socket.write(head, 'latin1');
    socket.write(body);
    if (suffix.length !== 0) socket.write(suffix, 'latin1');
    socket.uncork();
    return socket.writableLength < socket.writableHighWaterMark;
  }
}
