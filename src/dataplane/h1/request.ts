import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { announcesBody } from '../headers.js';

/**
 * One request read by the HTTP/1.1 server: the fields of node's
 * IncomingMessage that the proxy reads (method, url, headers, rawHeaders,
 * socket, httpVersion), and the body as this Readable's data.
 */
export class Http1Request extends Readable {
  /** The whole message, body included, has been read. */
  complete = false;
  /** The client went away before the message was complete. */
  aborted = false;
  #headers: IncomingHttpHeaders | undefined;
  #lowerNames: string[] | undefined;
  /** Called when the consumer wants more body (the connection stops reading while the buffer is full). */
  onWant: (() => void) | null = null;
  /** Someone reads the body, or body bytes were pushed: the end must be pushed too. */
  #bodyInUse = false;
  /** The message is complete but nobody read the (empty) body yet: the end is pushed on the first read. */
  #endDeferred = false;

  constructor(
    readonly socket: Socket,
    readonly method: string,
    readonly url: string,
    readonly httpVersionMajor: number,
    readonly httpVersionMinor: number,
    readonly rawHeaders: string[],
    /** The parser's verdict: HTTP/1.1 without `Connection: close`, or HTTP/1.0 with keep-alive. */
    readonly shouldKeepAlive: boolean,
    readonly upgrade: boolean,
    /** The client's address as X-Forwarded-For shows it (the connection works it out once). */
    readonly clientIp: string,
  ) {
    super();
  }

  get httpVersion(): string {
    return `${this.httpVersionMajor}.${this.httpVersionMinor}`;
  }

  /** Lower-case names, repeated fields combined as node:http combines them. */
  get headers(): IncomingHttpHeaders {
    if (this.#headers === undefined) {
      this.#lowerNames = new Array<string>(this.rawHeaders.length);
      this.#headers = headersObject(this.rawHeaders, this.#lowerNames);
    }
    return this.#headers;
  }

  /** rawHeaders' names lower-cased (name slots only), shared with the upstream header builder. */
  get lowerHeaderNames(): readonly string[] {
    if (this.#lowerNames === undefined) void this.headers;
    return this.#lowerNames!;
  }

  /** Whether the request announces a body (a length other than 0, or a transfer coding). */
  get announcesBody(): boolean {
    return announcesBody(this.headers);
  }

  /** Body bytes from the parser; false when the reader's buffer is full. */
  pushBody(chunk: Buffer): boolean {
    this.#bodyInUse = true;
    return this.push(chunk);
  }

  /**
   * The message is complete. Ending a Readable costs more than the rest of a
   * bodiless request (end-of-stream is scheduled on the next tick), so for a
   * body nobody has read, the end is pushed only when someone starts reading.
   */
  finishBody(): void {
    this.complete = true;
    if (this.destroyed) return;
    if (this.#bodyInUse) this.push(null);
    else this.#endDeferred = true;
  }

  override _read(): void {
    this.#bodyInUse = true;
    if (this.#endDeferred) {
      this.#endDeferred = false;
      this.push(null);
      return;
    }
    this.onWant?.();
  }
}

/** Fields whose repeats node:http drops (the first one wins). */
const SINGLE: ReadonlySet<string> = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after',
  'server', 'user-agent',
]);

/**
 * node:http's header object: set-cookie as a list, cookie joined with "; ",
 * the fields in SINGLE keep their first value, every other repeat is joined
 * with ", ".
 */
export function headersObject(raw: readonly string[], lowerNames?: string[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (lowerNames !== undefined) lowerNames[i] = name;
    const value = raw[i + 1];
    const prev = out[name];
    if (prev === undefined) {
      out[name] = name === 'set-cookie' ? [value] : value;
    } else if (typeof prev !== 'string') {
      prev.push(value);
    } else if (!SINGLE.has(name)) {
      out[name] = prev + (name === 'cookie' ? '; ' : ', ') + value;
    }
  }
  return out as IncomingHttpHeaders;
}
