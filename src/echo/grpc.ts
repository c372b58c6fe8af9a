import type { Http2ServerRequest, Http2ServerResponse, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { ProtoWriter, messageField, messagesField, readFields, stringField, stringsField } from './protobuf.js';
import type { EchoIdentity } from './types.js';
import { tlsAssertions, type TlsAssertions } from './tls-info.js';

/** The conformance echo service, as in gateway-api's grpcecho.proto. */
export const GRPC_ECHO_SERVICE = 'gateway_api_conformance.echo_basic.grpcecho.GrpcEcho';

/** gRPC status codes used here. */
export const GrpcStatus = { OK: 0, INTERNAL: 13, UNIMPLEMENTED: 12, RESOURCE_EXHAUSTED: 8 } as const;

/** One request message is tiny (EchoRequest is empty); refuse absurd uploads. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Request fields the gRPC server keeps out of the handler's metadata, as grpc-go does. */
const RESERVED = new Set([
  'content-type',
  'te',
  'grpc-message-type',
  'grpc-encoding',
  'grpc-message',
  'grpc-status',
  'grpc-timeout',
  'grpc-status-details-bin',
]);

export interface GrpcAssertions {
  fullyQualifiedMethod: string;
  headers: Array<{ key: string; value: string }>;
  authority: string;
  context: { namespace: string; ingress: string; serviceName: string; pod: string };
  tlsAssertions?: { version: string; negotiatedProtocol: string; serverName: string; cipherSuite: string; peerCertificates: string[] };
}

export function isGrpcRequest(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && type.startsWith('application/grpc');
}

/** gRPC length-prefixed message framing: flag byte (0 = not compressed), 4-byte length, bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** Split a whole request body into messages; undefined when the framing is broken or compressed. */
export function grpcMessages(body: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (pos + 5 > body.length) return undefined;
    if (body[pos] !== 0) return undefined; // compression was not negotiated
    const len = body.readUInt32BE(pos + 1);
    if (pos + 5 + len > body.length) return undefined;
    out.push(body.subarray(pos + 5, pos + 5 + len));
    pos += 5 + len;
  }
  return out;
}

export function encodeEchoResponse(a: GrpcAssertions): Buffer {
  const context = new ProtoWriter()
    .string(1, a.context.namespace)
    .string(2, a.context.ingress)
    .string(3, a.context.serviceName)
    .string(4, a.context.pod);
  const assertions = new ProtoWriter().string(1, a.fullyQualifiedMethod);
  for (const h of a.headers) assertions.message(2, new ProtoWriter().string(1, h.key).string(2, h.value));
  assertions.string(3, a.authority).message(4, context);
  if (a.tlsAssertions) {
    const t = a.tlsAssertions;
    const tls = new ProtoWriter().string(1, t.version).string(2, t.negotiatedProtocol).string(3, t.serverName).string(4, t.cipherSuite);
    for (const pem of t.peerCertificates) tls.string(5, pem);
    assertions.message(5, tls);
  }
  return new ProtoWriter().message(1, assertions).finish();
}

/** Read an EchoResponse (for tests and clients of the echo). */
export function decodeEchoResponse(buf: Buffer): GrpcAssertions | undefined {
  const a = messageField(readFields(buf), 1);
  if (!a) return undefined;
  const ctx = messageField(a, 4);
  const tls = messageField(a, 5);
  return {
    fullyQualifiedMethod: stringField(a, 1),
    headers: messagesField(a, 2).map((h) => ({ key: stringField(h, 1), value: stringField(h, 2) })),
    authority: stringField(a, 3),
    context: {
      namespace: ctx ? stringField(ctx, 1) : '',
      ingress: ctx ? stringField(ctx, 2) : '',
      serviceName: ctx ? stringField(ctx, 3) : '',
      pod: ctx ? stringField(ctx, 4) : '',
    },
    ...(tls
      ? {
          tlsAssertions: {
            version: stringField(tls, 1),
            negotiatedProtocol: stringField(tls, 2),
            serverName: stringField(tls, 3),
            cipherSuite: stringField(tls, 4),
            peerCertificates: stringsField(tls, 5),
          },
        }
      : {}),
  };
}

export interface GrpcEchoContext {
  readonly identity: EchoIdentity;
  readonly log: ((line: string) => void) | null;
}

/**
 * Serve one gRPC call of the echo service over an HTTP/2 stream: Echo and
 * EchoTwo answer with the assertions; EchoThree and anything else are
 * UNIMPLEMENTED, as grpc-go answers them.
 */
export function serveGrpc(ctx: GrpcEchoContext, req: Http2ServerRequest, res: Http2ServerResponse, tls: boolean): void {
  const stream = req.stream;
  const path = req.headers[':path'] ?? '';
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  const service = m?.[1] ?? '';
  const method = m?.[2] ?? '';
  if (service !== GRPC_ECHO_SERVICE) return finishTrailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `unknown service ${service}`);
  if (method === 'EchoThree') return finishTrailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `method ${method} not implemented`);
  if (method !== 'Echo' && method !== 'EchoTwo') {
    return finishTrailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${method} for service ${service}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
  });
  req.once('end', () => {
    if (size > MAX_REQUEST_BYTES) return finishTrailersOnly(stream, GrpcStatus.RESOURCE_EXHAUSTED, 'request message too large');
    const messages = grpcMessages(Buffer.concat(chunks));
    if (messages === undefined) return finishTrailersOnly(stream, GrpcStatus.INTERNAL, 'grpc: malformed or compressed request message');
    if (messages.length !== 1) return finishTrailersOnly(stream, GrpcStatus.INTERNAL, `grpc: expected one request message, got ${messages.length}`);
    try {
      readFields(messages[0]!); // EchoRequest has no fields, but it must still be protobuf
    } catch {
      return finishTrailersOnly(stream, GrpcStatus.INTERNAL, 'grpc: error unmarshalling request');
    }
    // grpc-go's echo-basic prints the request like this; the suite's gRPC mirror check greps for it.
    ctx.log?.(`Received over ${tls ? 'TLS' : 'plaintext'}: `);
    const reply = encodeEchoResponse(assertionsFor(ctx.identity, req, `/${service}/${method}`, tls));
    if (stream.destroyed) return;
    // Through the compat response, which owns the stream's trailers.
    res.writeHead(200, { 'content-type': 'application/grpc' });
    res.addTrailers({ 'grpc-status': String(GrpcStatus.OK), 'grpc-message': '' });
    res.end(grpcFrame(reply));
  });
}

function assertionsFor(identity: EchoIdentity, req: Http2ServerRequest, fullMethod: string, tls: boolean): GrpcAssertions {
  const headers: Array<{ key: string; value: string }> = [];
  let authority = '';
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (key === ':authority') authority = value;
    else if (key.startsWith(':') || RESERVED.has(key)) continue;
    headers.push({ key, value });
  }
  const out: GrpcAssertions = {
    fullyQualifiedMethod: fullMethod,
    headers,
    authority,
    context: { namespace: identity.namespace, ingress: identity.ingress, serviceName: identity.service, pod: identity.pod },
  };
  if (tls) {
    const t: TlsAssertions = tlsAssertions(req.socket as TLSSocket);
    out.tlsAssertions = {
      version: t.version,
      negotiatedProtocol: t.negotiatedProtocol ?? '',
      serverName: t.serverName,
      cipherSuite: t.cipherSuite,
      peerCertificates: t.peerCertificates ?? [],
    };
  }
  return out;
}

/** A "Trailers-Only" response: status in the only HEADERS frame, which ends the stream. */
function finishTrailersOnly(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond(
    { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': percentEncode(message) },
    { endStream: true },
  );
  // Whatever the client still sends is not needed.
  stream.resume();
}

/** grpc-message encoding: printable ASCII except '%' stays, the rest is %XX of its UTF-8 bytes. */
function percentEncode(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}
