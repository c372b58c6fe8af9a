import type { Socket } from 'node:net';
import type { Logger } from '../../util/log.js';
import { consumeSocket, HTTPParser, METHODS, startReading, stopReading, type NativeParser, type ParseError } from './llhttp.js';
import { clientAddress } from '../headers.js';
import { Http1Request } from './request.js';
import { Http1Response, type ResponseOwner } from './response.js';

const { kOnHeaders, kOnHeadersComplete, kOnBody, kOnMessageComplete, kOnExecute } = HTTPParser;

/** What a connection needs from its server. */
export interface ConnectionHost {
  readonly keepAliveTimeoutMs: number;
  readonly logger: Logger;
  request(req: Http1Request, res: Http1Response): void;
  /** An Upgrade (WebSocket...) request: the socket is handed over with the bytes read past its head. */
  upgrade(req: Http1Request, socket: Socket, head: Buffer): void;
  connectionGone(conn: Http1Connection): void;
}

const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const EXPECT_CONTINUE = /^\s*100-continue\s*$/i;

/**
 * One client connection of the HTTP/1.1 server. The parser reads the socket
 * directly (node:http's consume mode: no 'data' event, no Buffer per read).
 * Requests are answered one at a time and in order: a pipelined request
 * waits (and reading stops) until the one before it is answered.
 */
export class Http1Connection implements ResponseOwner {
  readonly parser: NativeParser;
  /** The request being answered. */
  active: Http1Response | null = null;
  /** Sweep ticks without a request in progress. */
  idleTicks = 0;
  readonly #queue: Http1Request[] = [];
  /** The request whose body the parser is reading. */
  #reading: Http1Request | null = null;
  /** Header lines and URL the parser delivered before onHeadersComplete (long heads). */
  #headers: string[] = [];
  #url = '';
  #upgrade: Http1Request | null = null;
  #consumed = false;
  #paused = false;
  #bodyFull = false;
  #dispatching = false;
  /** No more input is parsed: an error, a close in progress, or a hand-over. */
  #stopped = false;
  #errorAfterActive: ParseError | null = null;
  #gone = false;
  #clientIp: string | undefined;

  readonly #onData = (d: Buffer): void => this.#executeChunk(d);
  readonly #onEnd = (): void => this.#clientEnded();
  readonly #onError = (): void => {
    this.socket.destroy();
  };
  readonly #onClose = (): void => this.#closed();
  readonly #onDrain = (): void => {
    this.active?.emit('drain');
  };
  readonly #wantBody = (): void => {
    this.#bodyFull = false;
    this.#maybeResume();
  };

  constructor(readonly host: ConnectionHost, readonly socket: Socket) {
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {}, 0, 0);
    this.parser = parser;
    parser[kOnHeaders] = (headers: string[], url: string): void => {
      for (let i = 0; i < headers.length; i++) this.#headers.push(headers[i]);
      this.#url += url;
    };
    parser[kOnHeadersComplete] = (
      major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined,
      _status: unknown, _statusText: unknown, upgrade: boolean, keepAlive: boolean,
    ): number => this.#headersComplete(major, minor, headers, method, url, upgrade, keepAlive);
    // Body pushes run consumers' 'data' handlers: nothing may throw into the parser (in consume mode
    // that would be an uncaught exception).
    parser[kOnBody] = (chunk: Buffer): void => {
      try {
        this.#body(chunk);
      } catch (err) {
        this.#handlerFailed(err);
      }
    };
    parser[kOnMessageComplete] = (): void => {
      try {
        this.#messageComplete();
      } catch (err) {
        this.#handlerFailed(err);
      }
    };
    parser[kOnExecute] = (ret: number | Error): void => this.#afterExecute(ret, undefined);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    socket.on('drain', this.#onDrain);
    this.#consumed = consumeSocket(parser, socket);
    // Bytes a sniffer already read (and put back) arrive as 'data'; the rest goes straight to the parser.
    socket.resume();
  }

  get keepAliveTimeoutMs(): number {
    return this.host.keepAliveTimeoutMs;
  }

  /** No request in progress or waiting. */
  get idle(): boolean {
    return this.active === null && this.#queue.length === 0;
  }

  // ---- input ----

  #executeChunk(d: Buffer): void {
    if (this.#stopped) return;
    let ret: number | Error;
    try {
      ret = this.parser.execute(d);
    } catch (err) {
      this.#handlerFailed(err);
      return;
    }
    this.#afterExecute(ret, d);
  }

  #afterExecute(ret: number | Error, data: Buffer | undefined): void {
    if (this.#stopped) return;
    if (ret instanceof Error) {
      this.#parseError(ret);
      return;
    }
    const up = this.#upgrade;
    if (up !== null) {
      const buf = data ?? this.parser.getCurrentBuffer();
      this.#handOver(up, buf.subarray(ret));
    }
  }

  #headersComplete(
    major: number, minor: number, headers: string[] | undefined, method: number, url: string | undefined,
    upgrade: boolean, keepAlive: boolean,
  ): number {
    let raw = headers;
    if (this.#headers.length !== 0) {
      if (raw !== undefined) for (let i = 0; i < raw.length; i++) this.#headers.push(raw[i]);
      raw = this.#headers;
      this.#headers = [];
    }
    const target = url ?? this.#url;
    this.#url = '';
    this.#clientIp ??= clientAddress(this.socket.remoteAddress);
    const req = new Http1Request(this.socket, METHODS[method] ?? 'GET', target, major, minor, raw ?? [], keepAlive, upgrade, this.#clientIp);
    if (upgrade) {
      // Hand the connection over once this read is parsed (the parser stops after the head).
      this.#upgrade = req;
      return 2;
    }
    req.onWant = this.#wantBody;
    this.#reading = req;
    if (this.active === null && this.#queue.length === 0) {
      this.#start(req);
    } else {
      this.#queue.push(req);
      this.#pause();
    }
    return 0;
  }

  #body(chunk: Buffer): void {
    const req = this.#reading;
    if (req === null || req.destroyed) return;
    if (!req.pushBody(chunk)) {
      this.#bodyFull = true;
      this.#pause();
    }
  }

  #messageComplete(): void {
    const req = this.#reading;
    this.#reading = null;
    req?.finishBody();
    // A reader that stopped the socket for this body gets no more _read calls once the body has
    // ended: the backpressure of this message is over, and reading must not stay stopped on it.
    if (this.#bodyFull) {
      this.#bodyFull = false;
      if (this.active === null) this.#maybeResume();
    }
  }

  // ---- requests and responses ----

  #start(req: Http1Request): void {
    const res = new Http1Response(this, req);
    this.active = res;
    this.idleTicks = 0;
    const expect = req.headers.expect;
    if (expect !== undefined) {
      if (req.httpVersionMinor >= 1 && EXPECT_CONTINUE.test(expect)) {
        this.socket.write(CONTINUE, 'latin1');
      } else {
        res.writeHead(417, ['content-length', '0']);
        res.end();
        return;
      }
    }
    try {
      this.host.request(req, res);
    } catch (err) {
      this.#handlerFailed(err);
    }
  }

  responseDone(res: Http1Response, keepAlive: boolean): void {
    if (res !== this.active) return;
    this.active = null;
    this.idleTicks = 0;
    const req = res.req;
    // Answered before the whole request body arrived: read the rest and drop it (as node:http does).
    if (!req.complete && !req.destroyed) req.resume();
    if (this.#errorAfterActive !== null) {
      this.#answerParseError(this.#errorAfterActive);
      return;
    }
    if (!keepAlive) {
      this.#endConnection();
      return;
    }
    this.#next();
  }

  /** Start queued (pipelined) requests while each is answered at once; then read on. */
  #next(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (this.active === null && !this.#stopped) {
        const req = this.#queue.shift();
        if (req === undefined) break;
        this.#start(req);
      }
    } finally {
      this.#dispatching = false;
    }
    this.#maybeResume();
  }

  #handlerFailed(err: unknown): void {
    this.host.logger.error({ err }, 'HTTP/1.1 request handler failed');
    this.socket.destroy();
  }

  // ---- flow control ----

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    stopReading(this.socket);
  }

  #maybeResume(): void {
    if (!this.#paused || this.#bodyFull || this.#queue.length !== 0 || this.#stopped) return;
    this.#paused = false;
    startReading(this.socket);
  }

  // ---- errors, ends and hand-over ----

  #stopParsing(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#consumed) {
      this.#consumed = false;
      this.parser.unconsume();
    }
  }

  #parseError(err: ParseError): void {
    this.#stopParsing();
    const req = this.#reading;
    if (req !== null && !req.complete) {
      // A body cut off by garbage: whoever reads it sees an abort, and the connection closes.
      this.#abortRequest(req);
      this.socket.destroy();
      return;
    }
    if (this.active !== null) this.#errorAfterActive = err;
    else this.#answerParseError(err);
  }

  #answerParseError(err: ParseError): void {
    this.#stopParsing();
    if (!this.socket.writable) {
      this.socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    this.socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, 'latin1', () => this.socket.destroy());
  }

  /**
   * The client sent FIN. As with node:http (and nginx), that ends the
   * connection: a request still in progress is abandoned, so the proxy
   * cancels its upstream request and logs 499.
   */
  #clientEnded(): void {
    if (!this.#stopped) {
      const ret = this.parser.finish();
      const req = this.#reading;
      if (ret instanceof Error && req !== null) this.#abortRequest(req);
    }
    this.#endConnection();
    const res = this.active;
    this.active = null;
    res?.abandoned();
  }

  /** Send what is queued, then FIN, then close. */
  #endConnection(): void {
    this.#stopParsing();
    for (const req of this.#queue.splice(0)) req.destroy();
    if (this.socket.destroyed) return;
    this.socket.end(() => this.socket.destroy());
  }

  #abortRequest(req: Http1Request): void {
    if (req.complete || req.destroyed) return;
    req.aborted = true;
    req.emit('aborted');
    req.destroy();
  }

  #closed(): void {
    this.#stopped = true;
    const req = this.#reading;
    this.#reading = null;
    if (req !== null) this.#abortRequest(req);
    for (const q of this.#queue.splice(0)) q.destroy();
    const res = this.active;
    this.active = null;
    res?.abandoned();
    this.#forget();
  }

  #handOver(req: Http1Request, head: Buffer): void {
    this.#upgrade = null;
    if (this.active !== null || req.method === 'CONNECT') {
      // A pipelined upgrade, or CONNECT (a gateway is no forward proxy): not served, as node:http.
      this.socket.destroy();
      return;
    }
    this.#stopParsing();
    const socket = this.socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
    socket.off('drain', this.#onDrain);
    // Neither flowing nor paused: the new owner's first 'data' listener or pipe() starts the flow.
    (socket as unknown as { readableFlowing: boolean | null }).readableFlowing = null;
    req.finishBody();
    this.#forget();
    this.host.upgrade(req, socket, head);
  }

  #forget(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.host.connectionGone(this);
  }
}
