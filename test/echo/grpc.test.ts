import t from 'tap';
import { connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import { startEcho } from '../../src/echo/index.js';
import { GRPC_ECHO_SERVICE, decodeEchoResponse, grpcFrame, grpcMessages } from '../../src/echo/grpc.js';
import { ProtoWriter, readFields } from '../../src/echo/protobuf.js';
import { createDevCA } from '../../src/util/devcert.js';
import { freePort } from '../fixtures/ports.js';

interface Call {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  messages: Buffer[];
}

/** A unary gRPC call by hand: HTTP/2 POST, one length-prefixed message, status in trailers. */
function grpcCall(authority: string, method: string, connectOptions: Record<string, unknown> = {}, metadata: Record<string, string> = {}): Promise<Call> {
  return new Promise((resolve, reject) => {
    const session = h2connect(authority, connectOptions);
    session.on('error', reject);
    const req = session.request({
      ':method': 'POST',
      ':path': `/${GRPC_ECHO_SERVICE}/${method}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...metadata,
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (h) => (trailers = h));
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      resolve({ headers, trailers, messages: grpcMessages(Buffer.concat(chunks)) ?? [] });
    });
    req.end(grpcFrame(Buffer.alloc(0))); // EchoRequest {} encodes to zero bytes
  });
}

t.test('protobuf writer/reader round trip', async (t) => {
  const buf = new ProtoWriter().string(1, 'a').message(2, new ProtoWriter().string(1, 'k')).string(3, '').string(1, 'b').finish();
  const fields = readFields(buf);
  t.same([...fields.keys()], [1, 2], 'empty strings are proto3 defaults and not written');
  t.equal(fields.get(1)!.length, 2);
  t.throws(() => readFields(Buffer.from([0x0a, 0x05, 0x61])), 'a truncated field is an error');
});

t.test('Echo and EchoTwo answer with the assertions; EchoThree is UNIMPLEMENTED', async (t) => {
  const lines: string[] = [];
  const echo = await startEcho({ grpc: '127.0.0.1:0', name: 'grpc-infra-backend-v1-x', namespace: 'gateway-conformance-infra', log: (l) => lines.push(l) });
  t.teardown(() => echo.close());
  const authority = `http://127.0.0.1:${echo.ports.grpc}`;

  const call = await grpcCall(authority, 'Echo', {}, { 'x-custom': 'one', 'grpc-timeout': '5S' });
  t.equal(call.headers[':status'], 200);
  t.equal(call.headers['content-type'], 'application/grpc');
  t.equal(call.trailers['grpc-status'], '0', 'OK in the trailers');
  t.equal(call.messages.length, 1);
  const a = decodeEchoResponse(call.messages[0]!)!;
  t.equal(a.fullyQualifiedMethod, `/${GRPC_ECHO_SERVICE}/Echo`);
  t.equal(a.authority, `127.0.0.1:${echo.ports.grpc}`);
  t.same(a.context, { namespace: 'gateway-conformance-infra', ingress: '', serviceName: '', pod: 'grpc-infra-backend-v1-x' });
  t.ok(a.headers.some((h) => h.key === 'x-custom' && h.value === 'one'), 'request metadata is echoed');
  t.ok(a.headers.some((h) => h.key === ':authority'), ':authority is in the headers, as grpc-go reports it');
  t.notOk(a.headers.some((h) => h.key === 'content-type' || h.key === 'grpc-timeout' || h.key === ':path'), 'reserved headers are not');
  t.equal(a.tlsAssertions, undefined, 'no TLS assertions in plaintext');
  t.ok(lines.includes('Received over plaintext: '), 'logged like echo-basic (the gRPC mirror check greps it)');

  const two = await grpcCall(authority, 'EchoTwo');
  t.equal(decodeEchoResponse(two.messages[0]!)!.fullyQualifiedMethod, `/${GRPC_ECHO_SERVICE}/EchoTwo`);

  const three = await grpcCall(authority, 'EchoThree');
  t.equal(three.headers['grpc-status'], '12', 'UNIMPLEMENTED, trailers-only');
  t.equal(three.headers['grpc-message'], 'method EchoThree not implemented');
  t.equal(three.messages.length, 0);

  const nope = await grpcCall(authority, 'Nope');
  t.equal(nope.headers['grpc-status'], '12');
});

t.test('gRPC shares the h2c port when given the same address; plain HTTP/2 still echoes JSON there', async (t) => {
  const port = await freePort();
  const echo = await startEcho({ h2c: `127.0.0.1:${port}`, grpc: `127.0.0.1:${port}`, name: 'shared', quiet: true });
  t.teardown(() => echo.close());
  t.equal(echo.ports.grpc, port);
  t.equal(echo.listeners.length, 1, 'one listener');
  const call = await grpcCall(`http://127.0.0.1:${port}`, 'Echo');
  t.equal(decodeEchoResponse(call.messages[0]!)!.context.pod, 'shared');
  const json = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':path': '/plain' });
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      session.close();
      resolve(JSON.parse(text) as Record<string, unknown>);
    });
  });
  t.equal(json.proto, 'HTTP/2.0');
  t.equal(json.path, '/plain');
});

t.test('gRPC over TLS carries TLS assertions', async (t) => {
  const ca = createDevCA();
  const pair = ca.issue(['grpc.example']);
  const echo = await startEcho({ https: '127.0.0.1:0', tls: { cert: pair.certPem, key: pair.keyPem }, name: 'grpc-tls', quiet: true });
  t.teardown(() => echo.close());
  const call = await grpcCall(`https://grpc.example:${echo.ports.https}`, 'Echo', {
    ca: ca.certPem,
    host: '127.0.0.1',
    servername: 'grpc.example',
    port: echo.ports.https,
  });
  t.equal(call.trailers['grpc-status'], '0');
  const a = decodeEchoResponse(call.messages[0]!)!;
  t.match(a.tlsAssertions, { version: 'TLSv1.3', serverName: 'grpc.example', negotiatedProtocol: 'h2', cipherSuite: /^TLS_/ });
});
