import { SluiceError } from '../errors.js';

/** The proxy gave up waiting for an upstream (HTTPRoute timeouts). */
export class UpstreamTimeoutError extends SluiceError {
  constructor(readonly which: 'request' | 'backendRequest', ms: number) {
    super('ERR_SLUICE_UPSTREAM_TIMEOUT', `${which} timeout after ${ms} ms`);
  }
}

/** The client went away before the response was complete. */
export class ClientAbortError extends SluiceError {
  constructor() {
    super('ERR_SLUICE_CLIENT_ABORT', 'client closed the connection');
  }
}

/** The proxy aborted an attempt on purpose to retry it elsewhere. */
export class RetryAbortError extends SluiceError {
  constructor() {
    super('ERR_SLUICE_RETRY', 'attempt abandoned for a retry');
  }
}

/** An h2c upstream session failed or refused a stream. */
export class H2UpstreamError extends SluiceError {
  constructor(message: string, readonly upstreamCode?: string, options?: { cause?: unknown }) {
    super(upstreamCode ?? 'ERR_SLUICE_H2_UPSTREAM', message, options);
  }
}

export interface UpstreamFailure {
  /** HTTP status to answer with when nothing was sent yet. */
  readonly status: 502 | 504;
  /** access log `reason`. */
  readonly reason: string;
  /** Safe to retry on another endpoint (the request did not reach an application). */
  readonly connectFailure: boolean;
}

/** Map an upstream error (undici, node:net, node:http2 or ours) to a status and a log reason. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return { status: 502, reason: 'upstream_connect_refused', connectFailure: true };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return { status: 502, reason: 'upstream_unreachable', connectFailure: true };
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { status: 504, reason: 'upstream_connect_timeout', connectFailure: true };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ERR_SLUICE_UPSTREAM_TIMEOUT':
      return { status: 504, reason: 'upstream_timeout', connectFailure: false };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
    case 'ERR_HTTP2_STREAM_ERROR':
    case 'ERR_HTTP2_GOAWAY_SESSION':
    case 'ERR_HTTP2_SESSION_ERROR':
      return { status: 502, reason: 'upstream_reset', connectFailure: false };
    default:
      return { status: 502, reason: 'upstream_error', connectFailure: false };
  }
}

export function errorCode(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && typeof e.message === 'string') return e.message;
  return String(err);
}
