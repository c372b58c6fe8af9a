import type { FrontRequest } from './front.js';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { isoTime } from './accesslog.js';
import type { CompiledListener, CompiledPort, CompiledRoute } from './compiled.js';
import { errorCode, classifyUpstreamError } from './errors.js';
import { applyHeaderModifier, setHost, upstreamRequestHeaders } from './headers.js';
import { normalizeHost } from './hostindex.js';
import { modifyPath, splitTarget } from './paths.js';
import type { ProxyRuntime } from './proxy.js';
import { redirectLocation } from './redirect.js';
import { isMiss, resolveRoute } from './routing.js';
import type { Upstream } from './upstreams.js';

const STATUS_TEXT: Readonly<Record<number, string>> = {
  301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 421: 'Misdirected Request', 500: 'Internal Server Error',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** Entry point for node:http's 'upgrade' event (WebSocket and other Upgrade requests). */
export function handleUpgrade(rt: ProxyRuntime, port: CompiledPort, req: FrontRequest, socket: Duplex, head: Buffer, tracked: Set<Duplex>): void {
  new UpgradeRequest(rt, port, req, socket, tracked).run(head);
}

/**
 * An Upgrade request passed through byte for byte: routed like any request,
 * written to a raw connection to the endpoint (with the request filters
 * applied), then both sockets are piped. The upstream's 101 (or refusal)
 * flows back unchanged.
 */
class UpgradeRequest {
  readonly startMs = Date.now();
  readonly t0 = performance.now();
  listener: CompiledListener | undefined = undefined;
  route: CompiledRoute | undefined = undefined;
  upstream: Upstream | undefined = undefined;
  status = 0;
  reason = '';
  upstreamError = '';
  bytes = 0;
  logged = false;

  constructor(
    readonly rt: ProxyRuntime,
    readonly port: CompiledPort,
    readonly req: FrontRequest,
    readonly socket: Duplex,
    readonly tracked: Set<Duplex>,
  ) {}

  run(head: Buffer): void {
    const req = this.req;
    this.socket.on('error', () => this.socket.destroy());
    const host = normalizeHost(req.headers.host);
    const found = resolveRoute(this, this.port, req, host);
    if (isMiss(found)) return this.answer(found.status, found.reason, found.body);
    this.route = found;
    const a = found.action;
    if (a.direct !== undefined) return this.answer(a.direct.status, 'direct_response', a.direct.body);
    const url = req.url ?? '/';
    if (a.redirect !== undefined) {
      const t = splitTarget(url);
      const location = redirectLocation(a.redirect, { scheme: this.port.scheme, host, listenerPort: this.port.port, path: t.path, query: t.query });
      return this.answer(a.redirect.statusCode, 'redirect', '', ['location', location]);
    }
    const backend = a.backendCount === 0 ? undefined : a.backends.pick();
    if (backend === undefined) return this.answer(500, 'no_backends', 'no backends\n');
    if (backend.invalid !== undefined || backend.cluster === undefined) {
      this.upstreamError = backend.invalid ?? '';
      return this.answer(500, 'invalid_backend', 'invalid backend\n');
    }
    const ep = backend.cluster.pick();
    if (ep === undefined) return this.answer(503, 'no_endpoints', 'no healthy upstream\n');
    this.upstream = ep;

    const headers = upstreamRequestHeaders(req, host, this.port.scheme);
    let path = url.charCodeAt(0) === 47 ? url : (() => { const t = splitTarget(url); return t.path + t.query; })();
    for (const ops of [a.requestOps, backend.requestOps]) {
      for (const op of ops) {
        if (op.kind === 'headers') applyHeaderModifier(headers, op.mod);
        else if (op.kind === 'rewrite') {
          if (op.hostname !== undefined) setHost(headers, op.hostname);
          if (op.path !== undefined) {
            const t = splitTarget(path);
            path = modifyPath(t.path, op.path) + t.query;
          }
        }
      }
    }
    headers.push('connection', 'upgrade', 'upgrade', String(req.headers.upgrade ?? ''));
    let text = `${req.method ?? 'GET'} ${path} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) {
      const v = headers[i + 1];
      if (v.includes('\r') || v.includes('\n')) continue;
      text += `${headers[i]}: ${v}\r\n`;
    }
    text += '\r\n';
    this.connect(ep, text, head);
  }

  connect(ep: Upstream, requestHead: string, head: Buffer): void {
    const client = this.socket;
    const tlsOptions = ep.kind === 'http1' ? ep.tlsConnect : undefined;
    const upstream: net.Socket = tlsOptions !== undefined
      ? tls.connect({ host: ep.address, port: ep.port, ...tlsOptions })
      : net.connect({ host: ep.address, port: ep.port });
    ep.inflight++;
    const connectEvent = tlsOptions !== undefined ? 'secureConnect' : 'connect';
    let connected = false;
    this.tracked.add(client);
    this.tracked.add(upstream);
    upstream.once(connectEvent, () => {
      connected = true;
      upstream.write(requestHead);
      if (head.length > 0) upstream.write(head);
      upstream.once('data', (first: Buffer) => {
        // "HTTP/1.1 101 ..." -> 101, for the access log only.
        const code = Number(first.subarray(9, 12).toString('latin1'));
        this.status = Number.isInteger(code) ? code : 0;
      });
      upstream.on('data', (chunk: Buffer) => {
        this.bytes += chunk.length;
      });
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', (err) => {
      this.upstreamError = errorCode(err);
      if (!connected) {
        const f = classifyUpstreamError(err);
        this.answer(f.status, f.reason, 'upstream connection failed\n');
      } else {
        client.destroy();
      }
    });
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 1) {
        ep.inflight--;
        upstream.destroy();
        client.destroy();
        this.tracked.delete(client);
        this.tracked.delete(upstream);
        if (connected) {
          if (this.reason === '') this.reason = 'upgrade';
          this.log();
        }
      }
    };
    upstream.on('close', onClose);
    client.on('close', onClose);
  }

  /** Answer on the raw socket and close it. */
  answer(status: number, reason: string, body: string, extra: string[] = []): void {
    this.status = status;
    this.reason = reason;
    const socket = this.socket;
    if (!socket.destroyed && socket.writable) {
      let text = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n`;
      for (let i = 0; i < extra.length; i += 2) text += `${extra[i]}: ${extra[i + 1]}\r\n`;
      socket.end(`${text}\r\n${body}`);
    } else {
      socket.destroy();
    }
    this.bytes = body.length;
    this.log();
  }

  log(): void {
    if (this.logged) return;
    this.logged = true;
    const durationMs = performance.now() - this.t0;
    const listenerId = this.listener?.id ?? '';
    const routeName = this.route?.name ?? '';
    this.rt.metrics?.record(this.route ?? this.listener ?? this.port, listenerId, routeName, this.status, durationMs / 1000);
    this.rt.accessLog?.({
      time: isoTime(this.startMs),
      listener: listenerId,
      route: routeName,
      method: this.req.method ?? '',
      host: this.req.headers.host ?? '',
      path: this.req.url ?? '',
      status: this.status,
      bytes: this.bytes,
      duration_ms: Math.round(durationMs * 1000) / 1000,
      upstream: this.upstream?.label ?? '',
      reason: this.reason,
      upstream_error: this.upstreamError,
    });
  }
}
