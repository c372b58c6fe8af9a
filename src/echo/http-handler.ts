import { validateHeaderName, validateHeaderValue, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { constants as h2constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { DurationError, parseGoDuration } from './duration.js';
import { isGrpcRequest, serveGrpc } from './grpc.js';
import { headersMap } from './headers.js';
import type { RetryTracker } from './retry.js';
import { formatRemote, tlsAssertions } from './tls-info.js';
import type { EchoIdentity } from './types.js';

export type EchoRequest = IncomingMessage | Http2ServerRequest;
export type EchoResponse = ServerResponse | Http2ServerResponse;

/** The part of a response both HTTP/1 and HTTP/2 compat responses offer. */
interface ResponseSink {
  writeHead(statusCode: number, headers?: OutgoingHttpHeaders): unknown;
  end(): unknown;
  end(chunk: string | Uint8Array): unknown;
  readonly headersSent: boolean;
}

/** What every listener shares. */
export interface EchoHttpContext {
  readonly identity: EchoIdentity;
  readonly retry: RetryTracker;
  /** Log sink, or null when silenced. */
  readonly log: ((line: string) => void) | null;
  /** Pending `?delay=` timers, cleared on close. */
  readonly timers: Set<NodeJS.Timeout>;
  /** `httpPort` override; else the http listener's port, else the serving listener's. */
  httpPort(): string | undefined;
}

/** What is specific to the listener serving the request. */
export interface EchoListenerInfo {
  /** The bound port, known after listen(). */
  port: number;
  readonly tls: boolean;
  /** The h2c port: HTTP/1.1 requests need `Upgrade: h2c` (else 400, as upstream). */
  readonly requireH2c: boolean;
}

/** Request bodies up to this size are echoed back as text in `body`. */
const BODY_ECHO_LIMIT = 64 * 1024;
/** setTimeout's ceiling (~24.8 days). */
const MAX_DELAY_MS = 2 ** 31 - 1;
const STATUS_URI = /^\/status\/(\d\d\d)$/;
const INTEGER = /^[+-]?\d+$/;
/** Names an HTTP/2 response may not carry (RFC 9113 §8.2.2). */
const H2_FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

interface BodySummary {
  length: number;
  text: string | undefined;
}

export function isHttp2(req: EchoRequest): req is Http2ServerRequest {
  return req.httpVersionMajor === 2;
}

/**
 * Routes like echo-basic's ServeMux after its `//` -> `/` rewrite:
 * /health, /status/NNN, /retry/, and everything else echoes. (/ws upgrades
 * are taken before this handler; a plain request to /ws gets 400.) gRPC
 * calls (HTTP/2, content-type application/grpc) go to the gRPC echo service.
 */
export function createEchoHandler(ctx: EchoHttpContext, listener: EchoListenerInfo) {
  return function echoHandler(req: EchoRequest, res: EchoResponse): void {
    const sink: ResponseSink = res;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)).replaceAll('//', '/');
    const query = q < 0 ? '' : url.slice(q + 1);

    if (isHttp2(req) && isGrpcRequest(req.headers)) return serveGrpc(ctx, req, res as Http2ServerResponse, listener.tls);
    if (listener.requireH2c && !isHttp2(req) && !hasH2cUpgrade(req)) {
      return drainThen(req, () => plain(sink, 400, 'Expected h2c request'));
    }
    if (path === '/health') return drainThen(req, () => plain(sink, 200, 'OK'));
    if (path === '/status' || path === '/retry') {
      const location = path + '/' + (q < 0 ? '' : url.slice(q));
      return drainThen(req, () => {
        sink.writeHead(301, { Location: location, 'Content-Length': '0' });
        sink.end();
      });
    }
    if (path.startsWith('/status/')) {
      const m = STATUS_URI.exec(url);
      const code = m ? Number(m[1]) : 400;
      return drainThen(req, () => {
        if (code < 100) return resetRequest(req); // Go panics on such a code and drops the connection
        // Informational codes are not a final answer in Node; Go's handler would follow them with 200.
        sink.writeHead(code < 200 ? 200 : code, { 'Content-Length': '0' });
        sink.end();
      });
    }
    if (path === '/ws') return drainThen(req, () => plain(sink, 400, 'Bad Request'));
    if (path.startsWith('/retry/')) return retrySimulation(ctx, listener, req, sink, new URLSearchParams(query));
    echo(ctx, listener, req, sink, new URLSearchParams(query), 'delay');
  };
}

function retrySimulation(
  ctx: EchoHttpContext,
  listener: EchoListenerInfo,
  req: EchoRequest,
  sink: ResponseSink,
  params: URLSearchParams,
): void {
  const uuid = params.get('uuid') ?? '';
  if (uuid === '') return drainThen(req, () => plain(sink, 400, 'uuid is required'));
  const succeedAfterRaw = params.get('succeedAfter') ?? '';
  if (!INTEGER.test(succeedAfterRaw)) return drainThen(req, () => plain(sink, 400, 'succeedAfter is required'));
  if (!ctx.retry.shouldFail(uuid, Number(succeedAfterRaw))) {
    return echo(ctx, listener, req, sink, params, 'delay');
  }
  const codeRaw = params.get('responseCode') ?? '';
  const fail = (): void => {
    if (INTEGER.test(codeRaw)) {
      drainThen(req, () => {
        sink.writeHead(Number(codeRaw), { 'Content-Length': '0' });
        sink.end();
      });
    } else {
      // Default failure mode upstream: abort the connection with a TCP RST.
      resetRequest(req);
    }
  };
  const delayRaw = params.get('delayRetry') ?? '';
  if (delayRaw === '') return fail();
  let ms: number;
  try {
    ms = parseGoDuration(delayRaw);
  } catch (err) {
    return drainThen(req, () => jsonError(sink, 500, (err as DurationError).message));
  }
  later(ctx, ms, fail);
}

/** The echo itself: log, wait `?delay=` and the whole body, then answer with JSON. */
function echo(
  ctx: EchoHttpContext,
  listener: EchoListenerInfo,
  req: EchoRequest,
  sink: ResponseSink,
  params: URLSearchParams,
  delayParam: string,
): void {
  const url = req.url ?? '/';
  ctx.log?.(`Echoing back request made to ${url} to client (${formatRemote(req.socket?.remoteAddress, req.socket?.remotePort)})`);
  let waiting = 2;
  let body: BodySummary = { length: 0, text: undefined };
  let delayError: string | undefined;
  const step = (): void => {
    if (--waiting > 0) return;
    if (delayError !== undefined) jsonError(sink, 500, delayError);
    else writeEcho(ctx, listener, req, sink, body);
  };
  readBody(req, (summary) => {
    body = summary;
    step();
  });
  const delayRaw = params.get(delayParam) ?? '';
  if (delayRaw === '') return step();
  try {
    later(ctx, parseGoDuration(delayRaw), step);
  } catch (err) {
    if (!(err instanceof DurationError)) throw err;
    delayError = err.message;
    step();
  }
}

function writeEcho(ctx: EchoHttpContext, listener: EchoListenerInfo, req: EchoRequest, sink: ResponseSink, body: BodySummary): void {
  const h2 = isHttp2(req);
  const id = ctx.identity;
  const out: Record<string, unknown> = {
    path: req.url ?? '/',
    host: (h2 ? req.authority : req.headers.host) ?? req.headers.host ?? '',
    method: req.method,
    proto: h2 ? 'HTTP/2.0' : `HTTP/${req.httpVersion}`,
    headers: headersMap(req.rawHeaders, h2),
    httpPort: ctx.httpPort() ?? String(listener.port),
    namespace: id.namespace,
    ingress: id.ingress,
    service: id.service,
    pod: id.pod,
  };
  if (listener.tls) out.tls = tlsAssertions(req.socket as TLSSocket);
  if (body.length > 0) {
    out.bodyLength = body.length;
    if (body.text !== undefined) out.body = body.text;
  }
  const payload = Buffer.from(JSON.stringify(out, null, ' '));
  const headers = echoSetHeaders(req.rawHeaders, h2);
  headers['Content-Type'] = 'application/json';
  headers['X-Content-Type-Options'] = 'nosniff';
  headers['Content-Length'] = String(payload.length);
  sink.writeHead(200, headers);
  sink.end(payload);
}

/**
 * `X-Echo-Set-Header: Name:Value,Name2:Value2` -> response headers, keeping
 * the requested name case; a repeated name appends ",Value" as upstream.
 * Names or values Node would refuse are skipped.
 */
export function echoSetHeaders(rawHeaders: readonly string[], http2: boolean): OutgoingHttpHeaders {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'x-echo-set-header') continue;
    for (const item of rawHeaders[i + 1]!.split(',')) {
      const kv = item.trim();
      const colon = kv.indexOf(':');
      const name = colon < 0 ? kv : kv.slice(0, colon);
      const value = colon < 0 ? '' : kv.slice(colon + 1).trim();
      if (http2 && H2_FORBIDDEN.has(name.toLowerCase())) continue;
      try {
        validateHeaderName(name);
        validateHeaderValue(name, value);
      } catch {
        continue;
      }
      out[name] = out[name] === undefined ? value : `${out[name]},${value}`;
    }
  }
  return out;
}

function hasH2cUpgrade(req: EchoRequest): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.toLowerCase().split(/\s*,\s*/).includes('h2c');
}

/** Read the request body to its end; keep a short one as text. */
function readBody(req: EchoRequest, done: (summary: BodySummary) => void): void {
  if (req.complete && req.readableLength === 0) {
    req.resume();
    return done({ length: 0, text: undefined });
  }
  const chunks: Buffer[] = [];
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    length += chunk.length;
    if (length <= BODY_ECHO_LIMIT) chunks.push(chunk);
  });
  req.once('end', () => {
    done({ length, text: length > 0 && length <= BODY_ECHO_LIMIT ? Buffer.concat(chunks).toString('utf8') : undefined });
  });
  // An aborted request needs no answer; 'close' without 'end' just stops here.
}

function drainThen(req: EchoRequest, respond: () => unknown): void {
  readBody(req, () => void respond());
}

function later(ctx: EchoHttpContext, ms: number, fn: () => void): void {
  if (!(ms > 0)) return fn();
  const timer = setTimeout(() => {
    ctx.timers.delete(timer);
    fn();
  }, Math.min(ms, MAX_DELAY_MS));
  ctx.timers.add(timer);
}

function plain(sink: ResponseSink, status: number, text: string): void {
  sink.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) });
  sink.end(text);
}

function jsonError(sink: ResponseSink, status: number, message: string): void {
  const payload = JSON.stringify({ message });
  sink.writeHead(status, {
    'Content-Type': 'application/json',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(Buffer.byteLength(payload)),
  });
  sink.end(payload);
}

/** Abort: TCP RST on HTTP/1, RST_STREAM(INTERNAL_ERROR) on HTTP/2. */
function resetRequest(req: EchoRequest): void {
  if (isHttp2(req)) req.stream.close(h2constants.NGHTTP2_INTERNAL_ERROR);
  else req.socket.resetAndDestroy();
}
