import type { FrontRequest, FrontResponse } from '../front.js';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { lowerName } from '../headers.js';

/**
 * Make a node:http2 compat request/response pair look enough like the
 * node:http pair the proxy code reads (proxy.ts: headers.host, rawHeaders,
 * url, method, socket; writeHead with a flat array, write/end, addTrailers,
 * 'close'/'drain', destroy). The h2 stream underneath is never buffered:
 * the request is the stream's Readable side and the response writes go
 * straight to it.
 */
export function adaptRequest(req: Http2ServerRequest): FrontRequest {
  const headers = req.headers;
  const authority = headers[':authority'] ?? headers.host;
  const raw = req.rawHeaders;
  // Pseudo-headers never travel upstream as headers; :authority becomes Host (RFC 9113 §8.3.1).
  const out: string[] = [];
  let sawHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    if (lowerName(name) === 'host') {
      if (sawHost) continue;
      sawHost = true;
    }
    out.push(name, raw[i + 1]);
  }
  if (!sawHost && typeof authority === 'string') out.unshift('host', authority);
  if (headers.host === undefined && typeof authority === 'string') headers.host = authority;
  // HTTP/2 ends a bodyless request on its HEADERS frame, and a body needs no
  // Content-Length (gRPC never sends one). The proxy decides "has a body" from
  // content-length / transfer-encoding in the parsed headers, so say so there
  // (only there: upstream headers come from rawHeaders, and an upstream
  // HTTP/1.1 body without a length goes out chunked anyway).
  if (!req.stream.endAfterHeaders && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
  Object.defineProperty(req, 'rawHeaders', { value: out, configurable: true });
  return req as unknown as FrontRequest;
}

/** Connection-specific headers are malformed in HTTP/2 (RFC 9113 §8.2.2): drop them at the last step. */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export function adaptResponse(res: Http2ServerResponse): FrontResponse {
  // node's typings omit the flat-array form that http2's writeHead accepts at run time.
  const writeHead = res.writeHead as unknown as (this: Http2ServerResponse, status: number, headers?: string[]) => Http2ServerResponse;
  const patched = function writeHeadH2(this: Http2ServerResponse, status: number, headers?: string[]): Http2ServerResponse {
    if (headers === undefined) return writeHead.call(this, status);
    let w = 0;
    for (let r = 0; r < headers.length; r += 2) {
      if (CONNECTION_SPECIFIC.has(lowerName(headers[r]))) continue;
      headers[w] = headers[r];
      headers[w + 1] = headers[r + 1];
      w += 2;
    }
    headers.length = w;
    return writeHead.call(this, status, headers);
  };
  Object.defineProperty(res, 'writeHead', { value: patched, configurable: true, writable: true });
  return res as unknown as FrontResponse;
}
