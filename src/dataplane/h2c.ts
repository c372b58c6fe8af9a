import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Readable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { Logger } from '../util/log.js';
import { lowerName } from './headers.js';
import { DispatchControllerBase } from './dispatch-controller.js';
import { H2UpstreamError } from './errors.js';

const { NGHTTP2_CANCEL } = http2.constants;

/**
 * An h2c (HTTP/2 prior knowledge) upstream endpoint: one client session,
 * replaced when it closes or receives GOAWAY. Requests drive the same
 * DispatchHandler callbacks as the undici path, so the proxy code is shared.
 */
export class H2cUpstream {
  readonly kind = 'h2c' as const;
  inflight = 0;
  #session: ClientHttp2Session | undefined;

  readonly origin: string;

  constructor(
    readonly key: string,
    readonly label: string,
    readonly address: string,
    readonly port: number,
    readonly logger: Logger,
    /** Set when the cluster originates TLS (BackendTLSPolicy): HTTP/2 over TLS, ALPN h2. */
    readonly tls?: ConnectionOptions,
  ) {
    this.origin = `${tls ? 'https' : 'http'}://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  #getSession(): ClientHttp2Session {
    const current = this.#session;
    if (current !== undefined && !current.closed && !current.destroyed) return current;
    const session = this.tls ? http2.connect(this.origin, { ...this.tls, ALPNProtocols: ['h2'] }) : http2.connect(this.origin);
    const forget = (): void => {
      if (this.#session === session) this.#session = undefined;
    };
    session.on('error', (err) => {
      forget();
      this.logger.debug({ err, upstream: this.label }, 'h2c session error');
    });
    session.on('goaway', forget);
    session.on('close', forget);
    this.#session = session;
    return session;
  }

  /**
   * Send one request. `headers` is the flat upstream header array (host first);
   * body is the client request stream or null.
   */
  request(method: string, path: string, headers: readonly string[], body: Readable | null, handler: Dispatcher.DispatchHandler): void {
    const h2headers: OutgoingHttpHeaders = { ':method': method, ':path': path, ':scheme': this.tls ? 'https' : 'http' };
    for (let i = 0; i < headers.length; i += 2) {
      const name = lowerName(headers[i]);
      if (name === 'host') {
        h2headers[':authority'] = headers[i + 1];
        continue;
      }
      const prev = h2headers[name];
      if (prev === undefined) h2headers[name] = headers[i + 1];
      else if (Array.isArray(prev)) prev.push(headers[i + 1]);
      else h2headers[name] = [String(prev), headers[i + 1]];
    }
    let stream: ClientHttp2Stream;
    try {
      stream = this.#getSession().request(h2headers, { endStream: body === null });
    } catch (err) {
      const controller = new H2Controller(undefined);
      handler.onRequestStart?.(controller, undefined);
      handler.onResponseError?.(controller, new H2UpstreamError('h2c request failed', (err as { code?: string }).code, { cause: err }));
      return;
    }
    new H2Exchange(stream, body, handler);
  }

  async close(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    if (s && !s.closed) await new Promise<void>((resolve) => s.close(resolve));
  }

  async destroy(): Promise<void> {
    const s = this.#session;
    this.#session = undefined;
    s?.destroy();
  }
}

/** DispatchController over an HTTP/2 stream. */
class H2Controller extends DispatchControllerBase {
  constructor(readonly stream: ClientHttp2Stream | undefined) {
    super();
  }

  protected onAbort(): void {
    if (this.stream && !this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
  }

  protected onPause(): void {
    this.stream?.pause();
  }

  protected onResume(): void {
    this.stream?.resume();
  }
}

/** Wires one HTTP/2 stream to a DispatchHandler, trailers included. */
class H2Exchange {
  readonly controller: H2Controller;
  #trailers: IncomingHttpHeaders | undefined;
  #done = false;

  constructor(readonly stream: ClientHttp2Stream, body: Readable | null, readonly handler: Dispatcher.DispatchHandler) {
    this.controller = new H2Controller(stream);
    handler.onRequestStart?.(this.controller, undefined);
    stream.on('response', (headers) => {
      if (this.#done || this.controller.aborted) return;
      const status = Number(headers[':status']);
      handler.onResponseStart?.(this.controller, status, headers as Record<string, string | string[]>, '');
    });
    stream.on('data', (chunk: Buffer) => {
      if (!this.#done && !this.controller.aborted) handler.onResponseData?.(this.controller, chunk);
    });
    stream.on('trailers', (trailers) => {
      this.#trailers = trailers;
    });
    stream.on('end', () => {
      if (this.#done || this.controller.aborted) return;
      this.#done = true;
      handler.onResponseEnd?.(this.controller, (this.#trailers ?? {}) as Record<string, string | string[]>);
    });
    stream.on('error', (err) => this.#fail(err));
    stream.on('close', () => {
      if (!this.#done) this.#fail(new H2UpstreamError(`h2c stream closed (code ${stream.rstCode ?? 'none'})`, 'ERR_HTTP2_STREAM_ERROR'));
    });
    if (body !== null) {
      body.on('error', (err) => stream.destroy(err));
      body.pipe(stream);
    }
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.#done = true;
    if (this.controller.aborted) return;
    this.handler.onResponseError?.(this.controller, err);
  }
}
