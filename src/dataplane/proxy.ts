import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Logger } from '../util/log.js';
import type { FrontRequest, FrontResponse } from './front.js';
import { formatHttpLine, isoTime, microsAsMillis, type AccessLogWriter } from './accesslog.js';
import type { CompiledAction, CompiledBackend, CompiledListener, CompiledPort, CompiledRoute, RequestOp } from './compiled.js';
import { corsResponseHeaders, isPreflight, originAllowed, preflightHeaders } from './cors.js';
import { ClientAbortError, classifyUpstreamError, errorCode, RetryAbortError, UpstreamTimeoutError, type UpstreamFailure } from './errors.js';
import { announcesBody, applyHeaderModifier, responseHeadersFromObject, responseHeadersFromRaw, setHost, upstreamRequestHeaders } from './headers.js';
import { NativeH1Upstream, type RawResponseHandler } from './h1client.js';
import { normalizeHost } from './hostindex.js';
import type { DataPlaneMetrics, MetricHolder } from './metrics.js';
import { sendMirror, teeBody } from './mirror.js';
import { modifyPath, splitTarget } from './paths.js';
import { redirectLocation } from './redirect.js';
import { isMiss, resolveRoute } from './routing.js';
import type { AccessLogSink } from './types.js';
import type { ClusterRuntime, Upstream } from './upstreams.js';

/** What every request handler needs from the data plane. */
export interface ProxyRuntime {
  readonly logger: Logger;
  readonly accessLog: AccessLogSink | undefined;
  /** The built-in access log, when it is the sink: HTTP lines are formatted straight into it (no entry object). */
  readonly accessLogWriter?: AccessLogWriter | undefined;
  readonly metrics: DataPlaneMetrics | undefined;
  /** Set by drain(): responses carry Connection: close. */
  draining: boolean;
}

const kProxy = Symbol('sluice.proxyRequest');
type TaggedResponse = FrontResponse & { [kProxy]?: ProxyRequest };

const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

/** Entry point for every HTTP request (HTTP/1.1 servers and HTTP/2 streams). */
export function handleRequest(rt: ProxyRuntime, port: CompiledPort, req: FrontRequest, res: FrontResponse): void {
  new ProxyRequest(rt, port, req, res).run();
}

// Module-level listeners with `this` bound by the emitter: no closure per request.
function onResponseClose(this: TaggedResponse): void {
  this[kProxy]?.onClientClose();
}
function onResponseDrain(this: TaggedResponse): void {
  this[kProxy]?.onDrain();
}
function onRequestTimeout(pr: ProxyRequest): void {
  pr.onRequestTimeout();
}
function onAttemptTimeout(pr: ProxyRequest): void {
  pr.onAttemptTimeout();
}
function onRetryTimer(pr: ProxyRequest): void {
  pr.sendAttempt();
}

/**
 * One proxied request. It is also the undici DispatchHandler of its first
 * upstream attempt (retries get a small RetryAttempt wrapper), so the common
 * path allocates this object, the upstream header array and the dispatch
 * options, and nothing per chunk.
 */
class ProxyRequest implements RawResponseHandler {
  readonly startMs = Date.now();
  readonly t0 = performance.now();
  listener: CompiledListener | undefined = undefined;
  route: CompiledRoute | undefined = undefined;
  backend: CompiledBackend | undefined = undefined;
  cluster: ClusterRuntime | undefined = undefined;
  upstream: Upstream | undefined = undefined;
  controller: Dispatcher.DispatchController | null = null;
  pausedController: Dispatcher.DispatchController | null = null;
  /** The upstream client calls onResponseDataFlush after each read (native): the last chunk may be held until then. */
  holdLast = false;
  /** The newest body chunk, not written yet (only while holdLast). */
  held: Buffer | null = null;
  host = '';
  upstreamPath = '';
  upstreamHeaders: string[] | null = null;
  body: Readable | null = null;
  hasBody = false;
  /** Current attempt number; callbacks of older attempts are ignored. */
  attempt = 0;
  retriesUsed = 0;
  inflight = false;
  responseStarted = false;
  /** The response is complete (or abandoned); nothing more is written. */
  done = false;
  logged = false;
  bytes = 0;
  reason = '';
  upstreamError = '';
  corsOrigin: string | undefined = undefined;
  requestTimer: NodeJS.Timeout | undefined = undefined;
  attemptTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly rt: ProxyRuntime,
    readonly port: CompiledPort,
    readonly req: FrontRequest,
    readonly res: FrontResponse,
  ) {}

  run(): void {
    const req = this.req;
    const res = this.res as TaggedResponse;
    res[kProxy] = this;
    res.on('close', onResponseClose);

    const host = normalizeHost(req.headers.host);
    this.host = host;
    const found = resolveRoute(this, this.port, req, host);
    if (isMiss(found)) {
      this.local(found.status, found.reason, found.body);
      return;
    }
    this.route = found;
    const a = found.action;
    if (a.requestTimeoutMs !== undefined) this.requestTimer = setTimeout(onRequestTimeout, a.requestTimeoutMs, this);

    if (a.cors !== undefined && this.handleCors(a)) return;
    if (a.direct !== undefined) {
      this.local(a.direct.status, 'direct_response', a.direct.body);
      return;
    }
    const url = req.url ?? '/';
    if (a.redirect !== undefined) {
      const target = splitTarget(url);
      const location = redirectLocation(a.redirect, {
        scheme: this.port.scheme, host, listenerPort: this.port.port, path: target.path, query: target.query,
      });
      const headers = ['location', location, 'content-length', '0'];
      for (const m of a.responseMods) applyHeaderModifier(headers, m);
      this.reply(a.redirect.statusCode, 'redirect', headers, '');
      return;
    }
    if (a.backendCount === 0) {
      this.local(500, 'no_backends', 'no backends configured for this route\n');
      return;
    }
    const backend = a.backends.pick();
    if (backend === undefined) {
      this.local(500, 'no_backends', 'every backend of this route has weight 0\n');
      return;
    }
    this.backend = backend;
    if (backend.invalid !== undefined || backend.cluster === undefined) {
      this.upstreamError = backend.invalid ?? 'unknown cluster';
      this.local(500, 'invalid_backend', 'invalid backend\n');
      return;
    }
    const cluster = backend.cluster;
    this.cluster = cluster;
    if (cluster.endpoints.length === 0) {
      this.local(503, 'no_endpoints', 'no healthy upstream\n');
      return;
    }

    this.upstreamPath = url.charCodeAt(0) === 47 ? url : absoluteToOrigin(url);
    const headers = upstreamRequestHeaders(req, host, this.port.scheme);
    this.upstreamHeaders = headers;
    // A request with a body cannot be replayed for a retry.
    this.hasBody = announcesBody(req.headers);
    let mirrors: MirrorCopy[] | undefined;
    if (a.requestOps.length !== 0) mirrors = this.applyOps(a.requestOps, headers, mirrors);
    if (backend.requestOps.length !== 0) mirrors = this.applyOps(backend.requestOps, headers, mirrors);
    if (mirrors !== undefined) this.startMirrors(mirrors);
    else if (this.hasBody) this.body = req;
    this.sendAttempt();
  }

  /** CORS: answer preflights here; remember an allowed Origin for the response. True when answered. */
  handleCors(a: CompiledAction): boolean {
    const cors = a.cors!;
    const headers = this.req.headers;
    const origin = headers.origin;
    if (typeof origin !== 'string') return false;
    const allowed = originAllowed(cors, origin);
    if (isPreflight(this.req.method ?? '', headers)) {
      const reqMethod = String(headers['access-control-request-method']);
      const reqHeaders = headers['access-control-request-headers'];
      const out = allowed ? preflightHeaders(cors, origin, reqMethod, typeof reqHeaders === 'string' ? reqHeaders : undefined) : [];
      out.push('content-length', '0');
      this.reply(allowed ? 200 : 403, allowed ? 'cors_preflight' : 'cors_origin_denied', out, '');
      return true;
    }
    if (allowed) this.corsOrigin = origin;
    return false;
  }

  applyOps(ops: readonly RequestOp[], headers: string[], mirrors: MirrorCopy[] | undefined): MirrorCopy[] | undefined {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      switch (op.kind) {
        case 'headers':
          applyHeaderModifier(headers, op.mod);
          break;
        case 'rewrite':
          if (op.hostname !== undefined) setHost(headers, op.hostname);
          if (op.path !== undefined) {
            const target = splitTarget(this.upstreamPath);
            this.upstreamPath = modifyPath(target.path, op.path) + target.query;
          }
          break;
        case 'mirror':
          if (op.cluster !== undefined && op.cluster.endpoints.length !== 0 && (op.fraction >= 1 || Math.random() < op.fraction)) {
            const ep = op.cluster.pick();
            if (ep !== undefined) (mirrors ??= []).push({ ep, path: this.upstreamPath, headers: headers.slice() });
          }
          break;
      }
    }
    return mirrors;
  }

  startMirrors(mirrors: MirrorCopy[]): void {
    const method = this.req.method ?? 'GET';
    let bodies: Readable[] | undefined;
    if (this.hasBody) {
      const tee = teeBody(this.req, mirrors.length);
      this.body = tee.main;
      bodies = tee.copies;
    }
    for (let i = 0; i < mirrors.length; i++) {
      const m = mirrors[i];
      sendMirror(m.ep, method, m.path, m.headers, bodies === undefined ? null : bodies[i], this.rt.logger);
    }
  }

  /** Send (or re-send) the request to an endpoint of the chosen cluster. */
  sendAttempt(): void {
    if (this.done) return;
    const cluster = this.cluster!;
    const ep = cluster.pick(this.upstream);
    if (ep === undefined) {
      this.local(503, 'no_endpoints', 'no healthy upstream\n');
      return;
    }
    this.upstream = ep;
    this.holdLast = ep instanceof NativeH1Upstream;
    this.held = null;
    ep.inflight++;
    this.inflight = true;
    this.controller = null;
    const backendMs = this.route!.action.backendTimeoutMs;
    if (backendMs !== undefined) this.attemptTimer = setTimeout(onAttemptTimeout, backendMs, this);
    const handler: Dispatcher.DispatchHandler = this.attempt === 0 ? this : new RetryAttempt(this, this.attempt);
    const method = this.req.method ?? 'GET';
    try {
      if (ep.kind === 'http1') {
        ep.dispatch({ path: this.upstreamPath, method, headers: this.upstreamHeaders!, body: this.body, servername: ep.servername }, handler);
      } else {
        ep.request(method, this.upstreamPath, this.upstreamHeaders!, this.body, handler);
      }
    } catch (err) {
      this.attemptFailed(err);
    }
  }

  // ---- DispatchHandler (first attempt) ----

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.attempt === 0) this.attemptStarted(controller);
    else controller.abort(new RetryAbortError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.attempt === 0) this.responseHead(controller, statusCode, headers, null);
  }

  onResponseStartRaw(controller: Dispatcher.DispatchController, statusCode: number, raw: string[]): void {
    if (this.attempt === 0) this.responseHead(controller, statusCode, null, raw);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.attempt === 0) this.responseData(controller, chunk);
  }

  onResponseDataFlush(): void {
    if (this.attempt === 0) this.responseDataFlush();
  }

  onResponseEnd(controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    if (this.attempt === 0) this.responseEnd(trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.attempt === 0) this.attemptFailed(err);
  }

  // ---- attempt events ----

  attemptStarted(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.done) controller.abort(new ClientAbortError());
  }

  /** Response status and headers: `headers` from undici, or `raw` from the native client. */
  responseHead(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined> | null,
    raw: string[] | null,
  ): void {
    if (this.done) return;
    // undici reports informational responses (103 Early Hints...) too; only the final one counts.
    if (status < 200) return;
    const a = this.route!.action;
    if (a.retry !== undefined && a.retry.codes.has(status) && this.canRetry(undefined)) {
      this.releaseAttempt();
      this.upstreamError = `status ${status}`;
      this.scheduleRetry();
      controller.abort(new RetryAbortError());
      return;
    }
    const out = raw !== null ? responseHeadersFromRaw(raw) : responseHeadersFromObject(headers!);
    const mods = a.responseMods;
    for (let i = 0; i < mods.length; i++) applyHeaderModifier(out, mods[i]);
    const bmods = this.backend!.responseMods;
    for (let i = 0; i < bmods.length; i++) applyHeaderModifier(out, bmods[i]);
    if (this.corsOrigin !== undefined) corsResponseHeaders(a.cors!, this.corsOrigin, out);
    if (this.rt.draining) out.push('connection', 'close');
    try {
      this.res.writeHead(status, out);
    } catch (err) {
      this.releaseAttempt();
      this.upstreamError = errorCode(err);
      controller.abort(err as Error);
      this.local(502, 'invalid_upstream_response', 'invalid response from upstream\n');
      return;
    }
    this.responseStarted = true;
  }

  responseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    this.bytes += chunk.length;
    if (this.holdLast) {
      // The native client calls onResponseDataFlush after this read: keep the newest chunk
      // until then, so a response that also ends in this read leaves with res.end(chunk).
      const prev = this.held;
      this.held = chunk;
      if (prev === null) return;
      chunk = prev;
    }
    this.writeChunk(controller, chunk);
  }

  writeChunk(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.pausedController = controller;
      this.res.once('drain', onResponseDrain);
    }
  }

  /** End of one upstream read (native client): the held chunk goes out now. */
  responseDataFlush(): void {
    const chunk = this.held;
    if (chunk === null) return;
    this.held = null;
    if (this.done || this.controller === null) return;
    this.writeChunk(this.controller, chunk);
  }

  responseEnd(trailers: Record<string, string | string[] | undefined>): void {
    if (this.done) return;
    this.releaseAttempt();
    this.done = true;
    this.clearTimers();
    const last = this.held;
    this.held = null;
    for (const _ in trailers) {
      this.res.addTrailers(trailers as Record<string, string>);
      break;
    }
    if (last !== null) this.res.end(last);
    else this.res.end();
  }

  attemptFailed(err: unknown): void {
    if (this.done) return;
    this.releaseAttempt();
    const f = classifyUpstreamError(err);
    this.upstreamError = errorCode(err);
    this.rt.metrics?.upstreamErrors.inc({ cluster: this.cluster?.id ?? '', reason: f.reason });
    if (!this.responseStarted) {
      if (this.canRetry(f)) {
        this.scheduleRetry();
        return;
      }
      this.local(f.status, f.reason, f.status === 504 ? 'upstream timeout\n' : 'upstream connection failed\n');
      return;
    }
    // The status line is gone: cut the connection so the client sees a truncated response.
    this.reason = f.reason;
    this.done = true;
    this.clearTimers();
    this.res.destroy();
  }

  /** May this attempt be replayed? `f` undefined means a retryable status code. */
  canRetry(f: UpstreamFailure | undefined): boolean {
    if (this.hasBody) return false;
    const retry = this.route!.action.retry;
    if (retry !== undefined) {
      if (this.retriesUsed >= retry.attempts) return false;
      if (f === undefined) return true;
      return f.connectFailure || f.reason === 'upstream_reset' || (f.status === 504 && retry.codes.has(504));
    }
    // Without a retry policy: one replay of a request that never reached an application
    // (refused connection with another endpoint to try, or a reset keep-alive connection).
    if (this.retriesUsed >= 1 || f === undefined) return false;
    if (f.connectFailure) return this.cluster!.endpoints.length > 1;
    return f.reason === 'upstream_reset' && IDEMPOTENT.has(this.req.method ?? '');
  }

  scheduleRetry(): void {
    this.retriesUsed++;
    this.attempt++;
    this.controller = null;
    const backoff = this.route!.action.retry?.backoffMs ?? 0;
    if (backoff > 0) setTimeout(onRetryTimer, backoff, this);
    else this.sendAttempt();
  }

  releaseAttempt(): void {
    if (this.attemptTimer !== undefined) {
      clearTimeout(this.attemptTimer);
      this.attemptTimer = undefined;
    }
    if (this.inflight) {
      this.inflight = false;
      this.upstream!.inflight--;
    }
  }

  clearTimers(): void {
    if (this.requestTimer !== undefined) {
      clearTimeout(this.requestTimer);
      this.requestTimer = undefined;
    }
    if (this.attemptTimer !== undefined) {
      clearTimeout(this.attemptTimer);
      this.attemptTimer = undefined;
    }
  }

  onAttemptTimeout(): void {
    this.attemptTimer = undefined;
    if (this.done) return;
    const ms = this.route!.action.backendTimeoutMs ?? 0;
    const controller = this.controller;
    this.attemptFailed(new UpstreamTimeoutError('backendRequest', ms));
    controller?.abort(new UpstreamTimeoutError('backendRequest', ms));
  }

  onRequestTimeout(): void {
    this.requestTimer = undefined;
    if (this.done) return;
    const ms = this.route!.action.requestTimeoutMs ?? 0;
    const err = new UpstreamTimeoutError('request', ms);
    const controller = this.controller;
    this.releaseAttempt();
    this.upstreamError = errorCode(err);
    if (!this.responseStarted) {
      this.local(504, 'request_timeout', 'request timeout\n');
    } else {
      this.reason = 'request_timeout';
      this.done = true;
      this.res.destroy();
    }
    controller?.abort(err);
  }

  onDrain(): void {
    const c = this.pausedController;
    this.pausedController = null;
    c?.resume();
  }

  /** The response's 'close': it finished or the client went away. */
  onClientClose(): void {
    if (!this.done) {
      this.done = true;
      if (this.reason === '') this.reason = 'client_abort';
      this.releaseAttempt();
      const c = this.controller;
      if (c !== null && !c.aborted) c.abort(new ClientAbortError());
    }
    this.clearTimers();
    this.log();
  }

  /** A short text/plain answer from the proxy itself. */
  local(status: number, reason: string, body: string): void {
    const length = Buffer.byteLength(body);
    const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(length)];
    this.reply(status, reason, headers, body, length);
  }

  reply(status: number, reason: string, headers: string[], body: string, length = Buffer.byteLength(body)): void {
    this.reason = reason;
    const res = this.res;
    if (res.headersSent) {
      this.done = true;
      res.destroy();
      return;
    }
    this.done = true;
    this.clearTimers();
    if (this.rt.draining) headers.push('connection', 'close');
    res.writeHead(status, headers);
    this.bytes = length;
    res.end(body);
  }

  log(): void {
    if (this.logged) return;
    this.logged = true;
    const rt = this.rt;
    const res = this.res;
    const status = res.headersSent ? res.statusCode : this.reason === 'client_abort' ? 499 : res.statusCode;
    const durationMs = performance.now() - this.t0;
    const listenerId = this.listener?.id ?? '';
    const routeName = this.route?.name ?? '';
    if (rt.metrics !== undefined) {
      const holder: MetricHolder = this.route ?? this.listener ?? this.port;
      rt.metrics.record(holder, listenerId, routeName, status, durationMs / 1000);
    }
    const writer = rt.accessLogWriter;
    if (writer !== undefined) {
      const req = this.req;
      writer.line(formatHttpLine(
        isoTime(this.startMs), listenerId, routeName, req.method ?? '', req.headers.host ?? '', req.url ?? '', status, this.bytes,
        microsAsMillis(Math.round(durationMs * 1000)), this.upstream?.label ?? '', this.reason, this.upstreamError,
      ));
    } else if (rt.accessLog !== undefined) {
      const req = this.req;
      rt.accessLog({
        time: isoTime(this.startMs),
        listener: listenerId,
        route: routeName,
        method: req.method ?? '',
        host: req.headers.host ?? '',
        path: req.url ?? '',
        status,
        bytes: this.bytes,
        duration_ms: Math.round(durationMs * 1000) / 1000,
        upstream: this.upstream?.label ?? '',
        reason: this.reason,
        upstream_error: this.upstreamError,
      });
    }
  }
}

interface MirrorCopy {
  readonly ep: Upstream;
  readonly path: string;
  readonly headers: string[];
}

/** Handler for a retry attempt: forwards to the request only while it is the current attempt. */
class RetryAttempt implements RawResponseHandler {
  constructor(readonly pr: ProxyRequest, readonly n: number) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.pr.attempt === this.n) this.pr.attemptStarted(controller);
    else controller.abort(new RetryAbortError());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.pr.attempt === this.n) this.pr.responseHead(controller, statusCode, headers, null);
  }

  onResponseStartRaw(controller: Dispatcher.DispatchController, statusCode: number, raw: string[]): void {
    if (this.pr.attempt === this.n) this.pr.responseHead(controller, statusCode, null, raw);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.pr.attempt === this.n) this.pr.responseData(controller, chunk);
  }

  onResponseDataFlush(): void {
    if (this.pr.attempt === this.n) this.pr.responseDataFlush();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: Record<string, string | string[] | undefined>): void {
    if (this.pr.attempt === this.n) this.pr.responseEnd(trailers);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.pr.attempt === this.n) this.pr.attemptFailed(err);
  }
}

/** "http://host/p?q" -> "/p?q" (a gateway forwards origin-form). */
function absoluteToOrigin(url: string): string {
  const t = splitTarget(url);
  return t.path + t.query;
}

