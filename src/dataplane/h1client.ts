import net from 'node:net';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Logger } from '../util/log.js';
import { SluiceError } from '../errors.js';
import { DispatchControllerBase } from './dispatch-controller.js';
import type { UpstreamDispatchOptions } from './upstreams.js';
import { writeDirect } from './h1/direct-write.js';
import { consumeSocket, HTTPParser, startReading, stopReading, type NativeParser } from './h1/llhttp.js';

/**
 * An HTTP/1.1 upstream client built on node's own llhttp binding (the parser
 * node:http uses), for plain-HTTP endpoints. It does what a proxy needs and no
 * more: keep-alive connections, one request per connection at a time,
 * streaming bodies both ways with backpressure, trailers. Compared with undici
 * it skips request validation a proxy has already done, per-header JS
 * callbacks from a WASM parser, and the parsed-headers object, which roughly
 * halves the CPU per proxied request. It drives the same DispatchHandler
 * callbacks, so the proxy code does not care which client runs.
 */

const { kOnHeaders, kOnHeadersComplete, kOnBody, kOnMessageComplete, kOnExecute } = HTTPParser;

/** What the native client calls in addition to DispatchHandler. */
export interface RawResponseHandler extends Dispatcher.DispatchHandler {
  /** Instead of onResponseStart: the headers as the parser gave them (flat name/value list). */
  onResponseStartRaw?(controller: Dispatcher.DispatchController, statusCode: number, rawHeaders: string[]): void;
  /**
   * Once the bytes of one socket read are parsed, when they carried body data
   * and the response is not complete: a handler may hold the last chunk until
   * here (so a response that ends within the same read goes out with its
   * end in one write) but must write it now.
   */
  onResponseDataFlush?(): void;
}

export class UpstreamSocketError extends SluiceError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

export interface NativeUpstreamOptions {
  readonly connections: number;
  /** Idle keep-alive connections are closed after this long. */
  readonly keepAliveTimeoutMs: number;
  /** Time allowed until the response headers arrive. */
  readonly headersTimeoutMs: number;
  readonly logger: Logger;
}

interface Pending {
  readonly opts: UpstreamDispatchOptions;
  readonly handler: RawResponseHandler;
}

const CONNECT_TIMEOUT_MS = 10_000;
const SWEEP_MS = 1_000;
/** What undici also refuses in a request target: controls, space, DEL and anything past latin1. */
const INVALID_PATH = /[^\u0021-\u007e\u0080-\u00ff]/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i;
const EMPTY_TRAILERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** One plain-HTTP endpoint: a stack of idle connections, a cap and a FIFO of waiting requests. */
export class NativeH1Upstream {
  readonly kind = 'http1' as const;
  inflight = 0;
  /** Kept for the shared Upstream shape; plain HTTP needs no server name. */
  readonly servername = 'upstream';
  readonly tlsConnect = undefined;
  readonly #idle: Connection[] = [];
  readonly #queue: Pending[] = [];
  #open = 0;
  #closed = false;
  #closeWaiters: (() => void)[] = [];
  /** Every open connection, for the timeout sweep. */
  readonly all = new Set<Connection>();
  #sweeper: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    readonly label: string,
    readonly address: string,
    readonly port: number,
    readonly options: NativeUpstreamOptions,
  ) {}

  dispatch(opts: UpstreamDispatchOptions, handler: RawResponseHandler): void {
    if (this.#closed) {
      failBeforeStart(handler, new UpstreamSocketError('UND_ERR_CLOSED', 'upstream pool is closed'));
      return;
    }
    let conn = this.#idle.pop();
    while (conn !== undefined && conn.dead) conn = this.#idle.pop();
    if (conn === undefined) {
      if (this.#open >= this.options.connections) {
        this.#queue.push({ opts, handler });
        return;
      }
      this.#open++;
      conn = new Connection(this);
      this.all.add(conn);
      this.#ensureSweeper();
    }
    conn.start(opts, handler);
  }

  /** A connection finished a request and can take another. */
  release(conn: Connection): void {
    const next = this.#queue.shift();
    if (next !== undefined) {
      conn.start(next.opts, next.handler);
      return;
    }
    if (this.#closed) {
      conn.destroy();
      return;
    }
    conn.state = State.Idle;
    conn.ticks = 0;
    this.#idle.push(conn);
  }

  /**
   * Timeouts without a timer or a clock read per request: every sweep tick
   * (1 s) ages each connection by one; a connection idle for
   * keepAliveTimeoutMs worth of ticks is closed (so it is closed within that
   * time, before an upstream with a slightly longer keep-alive drops it), and
   * a request still without response headers after headersTimeoutMs fails.
   */
  #ensureSweeper(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  #sweep(): void {
    const idleTicks = Math.max(1, Math.floor(this.options.keepAliveTimeoutMs / SWEEP_MS));
    const headerTicks = Math.max(1, Math.ceil(this.options.headersTimeoutMs / SWEEP_MS));
    for (const conn of this.all) {
      conn.ticks++;
      if (conn.state === State.Idle) {
        if (conn.ticks >= idleTicks || conn.ticks >= conn.idleTicks) conn.destroy();
      } else if (conn.state === State.Busy && !conn.responseStarted && conn.ticks > headerTicks) {
        conn.fail(new UpstreamSocketError('UND_ERR_HEADERS_TIMEOUT', 'upstream sent no response headers in time'));
      }
    }
    if (this.all.size === 0) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  }

  /** A connection died. */
  gone(conn: Connection): void {
    this.#open--;
    this.all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i !== -1) this.#idle.splice(i, 1);
    const next = this.#queue.shift();
    if (next !== undefined && !this.#closed) {
      this.#open++;
      const conn2 = new Connection(this);
      this.all.add(conn2);
      conn2.start(next.opts, next.handler);
    }
    if (this.#open === 0) for (const w of this.#closeWaiters.splice(0)) w();
  }

  /** Finish in-flight requests, then close. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
    for (const c of this.#idle.splice(0)) c.destroy();
    if (this.#open === 0) return;
    await new Promise<void>((resolve) => this.#closeWaiters.push(resolve));
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) failBeforeStart(p.handler, new UpstreamSocketError('UND_ERR_DESTROYED', 'upstream pool destroyed'));
    for (const c of [...this.#idle.splice(0)]) c.destroy();
    await this.close();
  }

  /** Connections that are busy get destroyed by destroyAll (close() at shutdown). */
  get openConnections(): number {
    return this.#open;
  }
}

function failBeforeStart(handler: RawResponseHandler, err: Error): void {
  const c = new ExchangeController(null, 0);
  handler.onRequestStart?.(c, undefined);
  if (!c.aborted) handler.onResponseError?.(c, err);
}

/** The controller one request sees; it goes stale once its exchange is over. */
class ExchangeController extends DispatchControllerBase {
  rawHeaders: string[] | null = null;
  rawTrailers: string[] | null = null;

  constructor(readonly conn: Connection | null, readonly exchange: number) {
    super();
  }

  /** The connection, while it still serves this controller's exchange. */
  #current(): Connection | null {
    const conn = this.conn;
    return conn !== null && conn.exchange === this.exchange ? conn : null;
  }

  protected onAbort(): void {
    this.#current()?.abortCurrent();
  }

  protected onPause(): void {
    const conn = this.#current();
    if (conn !== null) stopReading(conn.socket);
  }

  protected onResume(): void {
    const conn = this.#current();
    if (conn !== null) startReading(conn.socket);
  }
}

const enum State {
  Connecting,
  Idle,
  Busy,
  Dead,
}

/** One keep-alive connection and its parser. */
class Connection {
  readonly socket: net.Socket;
  readonly parser: NativeParser;
  state = State.Connecting;
  /** Sweep ticks since it became idle or busy. */
  ticks = 0;
  /** Idle sweep ticks allowed by the upstream's Keep-Alive hint (when lower than the pool's). */
  idleTicks = Number.MAX_SAFE_INTEGER;
  /** Increments per request; stale controllers compare against it. */
  exchange = 0;
  handler: RawResponseHandler | null = null;
  controller: ExchangeController | null = null;
  method = '';
  responseStarted = false;
  /** The current response is informational (1xx): its completion is not the end. */
  informational = false;
  keepAlive = false;
  /** The current read delivered body data (onResponseDataFlush is due after it). */
  sawBody = false;
  bodyDone = true;
  headersAcc: string[] = [];
  pendingStart: Pending | null = null;
  /** The request body being sent, if any (resumed and discarded when the exchange ends early). */
  bodyStream: Readable | null = null;

  constructor(readonly upstream: NativeH1Upstream) {
    const socket = net.connect({ host: upstream.address, port: upstream.port, noDelay: true });
    this.socket = socket;
    const parser = new HTTPParser();
    parser.initialize(HTTPParser.RESPONSE, {}, 0, 0);
    this.parser = parser;
    parser[kOnHeaders] = (headers: string[]) => {
      for (let i = 0; i < headers.length; i++) this.headersAcc.push(headers[i]);
    };
    // The handler callbacks run inside the parser: in consume mode an exception there would be
    // uncaught, so each is caught and fails the exchange.
    parser[kOnHeadersComplete] = (
      _maj: number, _min: number, headers: string[] | undefined, _method: unknown, _url: unknown,
      statusCode: number, _statusMessage: string, _upgrade: boolean, shouldKeepAlive: boolean,
    ): number => {
      try {
        return this.onHeadersComplete(headers, statusCode, shouldKeepAlive);
      } catch (err) {
        this.handlerFailed(err);
        return 0;
      }
    };
    parser[kOnBody] = (chunk: Buffer) => {
      try {
        this.onBody(chunk);
      } catch (err) {
        this.handlerFailed(err);
      }
    };
    parser[kOnMessageComplete] = () => {
      try {
        this.onMessageComplete();
      } catch (err) {
        this.handlerFailed(err);
      }
    };
    parser[kOnExecute] = (ret: number | Error) => this.afterParse(ret);
    // Reads go from the socket's handle straight to the parser (as in node:http): no 'data'
    // event and no Buffer per read; body chunks come out as copies (onBody).
    if (!consumeSocket(parser, socket)) socket.on('data', (d: Buffer) => this.onData(d));
    // Flowing, so that the end of the stream is reported ('end').
    socket.resume();
    socket.on('connect', () => this.onConnect());
    socket.on('end', () => this.onEnd());
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.onClose());
    // Connect timeout (the only socket timer; idle and header timeouts are swept per upstream).
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
      if (this.state === State.Connecting) this.fail(new UpstreamSocketError('UND_ERR_CONNECT_TIMEOUT', 'connect to upstream timed out'));
    });
  }

  get dead(): boolean {
    return this.state === State.Dead;
  }

  start(opts: UpstreamDispatchOptions, handler: RawResponseHandler): void {
    this.exchange++;
    this.handler = handler;
    const controller = new ExchangeController(this, this.exchange);
    this.controller = controller;
    this.method = opts.method;
    this.responseStarted = false;
    this.informational = false;
    this.keepAlive = false;
    this.headersAcc.length = 0;
    handler.onRequestStart?.(controller, undefined);
    if (controller.aborted) {
      // Aborted before anything was written: the connection is still clean.
      this.handler = null;
      this.controller = null;
      if (this.state === State.Connecting) this.pendingStart = null;
      else this.upstream.release(this);
      return;
    }
    if (this.state === State.Connecting) {
      this.pendingStart = { opts, handler };
      return;
    }
    this.state = State.Busy;
    this.ticks = 0;
    this.write(opts);
  }

  onConnect(): void {
    this.socket.setTimeout(0);
    const pending = this.pendingStart;
    this.pendingStart = null;
    if (pending === null) {
      // Its request was aborted while connecting: offer the connection to the next one.
      this.upstream.release(this);
      return;
    }
    this.state = State.Busy;
    this.ticks = 0;
    this.write(pending.opts);
  }

  write(opts: UpstreamDispatchOptions): void {
    const socket = this.socket;
    if (INVALID_PATH.test(opts.path)) {
      this.fail(new UpstreamSocketError('UND_ERR_INVALID_ARG', 'invalid request path'));
      return;
    }
    const headers = opts.headers as string[];
    let head = `${opts.method} ${opts.path} HTTP/1.1\r\n`;
    let hasLength = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      head += `${name}: ${headers[i + 1]}\r\n`;
    }
    const body = opts.body as Readable | null | undefined;
    if (body === null || body === undefined) {
      this.bodyDone = true;
      writeDirect(socket, `${head}\r\n`);
      return;
    }
    this.bodyDone = false;
    this.bodyStream = body;
    const chunked = !hasLength;
    writeDirect(socket, chunked ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`);
    pumpBody(this, body, chunked, this.exchange);
  }

  /** Bytes from 'data' (only when the socket could not be consumed). */
  onData(d: Buffer): void {
    let ret: number | Error;
    try {
      ret = this.parser.execute(d);
    } catch (err) {
      this.handlerFailed(err);
      return;
    }
    this.afterParse(ret);
  }

  /** After each read is parsed: write out a held body chunk, or fail on a malformed response. */
  afterParse(ret: number | Error): void {
    if (this.sawBody) {
      this.sawBody = false;
      const controller = this.controller;
      if (controller !== null && !controller.aborted) {
        try {
          this.handler?.onResponseDataFlush?.();
        } catch (err) {
          this.handlerFailed(err);
          return;
        }
      }
    }
    if (ret instanceof Error) this.fail(new UpstreamSocketError('UND_ERR_SOCKET', `invalid response from upstream: ${ret.message}`, { cause: ret }));
  }

  /** A handler callback threw inside the parser: the exchange fails, the process goes on. */
  handlerFailed(err: unknown): void {
    this.upstream.options.logger.error({ err, upstream: this.upstream.label }, 'upstream response handler failed');
    this.fail(new UpstreamSocketError('UND_ERR_SOCKET', 'upstream response handler failed', { cause: err }));
  }

  onHeadersComplete(headers: string[] | undefined, statusCode: number, shouldKeepAlive: boolean): number {
    let raw = headers;
    if (this.headersAcc.length !== 0) {
      if (raw !== undefined) for (let i = 0; i < raw.length; i++) this.headersAcc.push(raw[i]);
      raw = this.headersAcc;
      this.headersAcc = [];
    }
    if (statusCode < 200 && statusCode !== 101) {
      this.informational = true;
      return 0;
    }
    this.informational = false;
    this.keepAlive = shouldKeepAlive;
    this.responseStarted = true;
    if (shouldKeepAlive && raw !== undefined) this.readKeepAliveHint(raw);
    const handler = this.handler;
    const controller = this.controller;
    if (handler !== null && controller !== null && !controller.aborted) {
      const list = raw ?? [];
      controller.rawHeaders = list;
      if (handler.onResponseStartRaw !== undefined) handler.onResponseStartRaw(controller, statusCode, list);
      else handler.onResponseStart?.(controller, statusCode, headersObject(list), '');
    }
    // HEAD responses and 204/304 carry no body whatever their headers say.
    return this.method === 'HEAD' ? 1 : 0;
  }

  /**
   * `Keep-Alive: timeout=N` from the upstream: it closes idle connections
   * after N s, so this one is closed here a second earlier (not reused at all
   * when N <= 1), never racing a request against the upstream's close.
   */
  readKeepAliveHint(raw: readonly string[]): void {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i];
      if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
      const m = KEEP_ALIVE_TIMEOUT.exec(raw[i + 1]);
      if (m === null) return;
      const ticks = Math.floor((Number(m[1]) * 1000 - 1000) / SWEEP_MS);
      if (ticks < 1) this.keepAlive = false;
      else this.idleTicks = ticks;
      return;
    }
  }

  onBody(chunk: Buffer): void {
    const controller = this.controller;
    if (controller !== null && !controller.aborted) {
      this.sawBody = true;
      // Already a copy: node's parser copies body bytes out of the (shared) read buffer.
      this.handler?.onResponseData?.(controller, chunk);
    }
  }

  onMessageComplete(): void {
    if (this.informational) {
      this.informational = false;
      return;
    }
    const handler = this.handler;
    const controller = this.controller;
    const trailers = this.headersAcc;
    this.headersAcc = [];
    this.handler = null;
    this.controller = null;
    const reusable = this.keepAlive && this.bodyDone && this.state === State.Busy;
    if (this.bodyDone) this.bodyStream = null;
    if (handler !== null && controller !== null && !controller.aborted) {
      controller.rawTrailers = trailers;
      handler.onResponseEnd?.(controller, trailers.length === 0 ? EMPTY_TRAILERS : headersObject(trailers));
    }
    if (reusable) this.upstream.release(this);
    else this.destroy();
  }

  /** The peer finished sending: a close-delimited body ends here; anything else is a reset. */
  onEnd(): void {
    if (this.handler !== null && this.responseStarted) {
      const ret = this.parser.finish();
      if (ret instanceof Error) this.fail(new UpstreamSocketError('UND_ERR_SOCKET', 'upstream closed the connection mid-response'));
      return;
    }
    this.fail(new UpstreamSocketError('ECONNRESET', 'upstream closed the connection'));
  }

  onClose(): void {
    if (this.state !== State.Dead) this.fail(new UpstreamSocketError('ECONNRESET', 'upstream connection closed'));
  }

  /** The controller aborted the current request: the connection cannot be reused. */
  abortCurrent(): void {
    this.handler = null;
    this.controller = null;
    this.destroy();
  }

  fail(err: Error): void {
    const handler = this.handler;
    const controller = this.controller;
    const pending = this.pendingStart;
    this.handler = null;
    this.controller = null;
    this.pendingStart = null;
    this.destroy();
    if (handler !== null && controller !== null && !controller.aborted) handler.onResponseError?.(controller, err);
    else if (pending !== null) failBeforeStart(pending.handler, err);
  }

  destroy(): void {
    if (this.state === State.Dead) return;
    this.state = State.Dead;
    this.socket.destroy();
    // A body still arriving from the client is drained and dropped, so the client connection stays usable.
    const body = this.bodyStream;
    this.bodyStream = null;
    if (body !== null && !this.bodyDone) body.resume();
    this.upstream.gone(this);
  }
}

/** Copy a request body to the connection, chunk-encoding it when its length is unknown. */
function pumpBody(conn: Connection, body: Readable, chunked: boolean, exchange: number): void {
  const socket = conn.socket;
  const live = (): boolean => conn.exchange === exchange && conn.state === State.Busy;
  const onData = (chunk: Buffer): void => {
    // After the exchange ended early, keep reading and drop the rest of the body.
    if (!live()) return;
    const ok = chunked ? socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1') && socket.write(chunk) && socket.write('\r\n', 'latin1') : socket.write(chunk);
    if (!ok) {
      body.pause();
      socket.once('drain', onDrain);
    }
  };
  const onDrain = (): void => {
    body.resume();
  };
  const onEnd = (): void => {
    cleanup();
    if (!live()) return;
    if (chunked) socket.write('0\r\n\r\n', 'latin1');
    conn.bodyDone = true;
    conn.bodyStream = null;
  };
  const onError = (err: Error): void => {
    cleanup();
    if (conn.exchange === exchange) conn.fail(new UpstreamSocketError('UND_ERR_REQ_BODY', `request body failed: ${err.message}`, { cause: err }));
  };
  const onAborted = (): void => onError(new Error('client aborted the request body'));
  const cleanup = (): void => {
    body.off('data', onData);
    body.off('end', onEnd);
    body.off('error', onError);
    body.off('aborted', onAborted);
    socket.off('drain', onDrain);
  };
  body.on('data', onData);
  body.on('end', onEnd);
  body.on('error', onError);
  body.on('aborted', onAborted);
}

/** Flat header list -> undici-style object (lower-case names, repeated names as arrays). */
function headersObject(raw: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    const prev = out[k];
    if (prev === undefined) out[k] = raw[i + 1];
    else if (Array.isArray(prev)) prev.push(raw[i + 1]);
    else out[k] = [prev, raw[i + 1]];
  }
  return out;
}
