// GRPCRoute end to end through `sluice run`: a gRPC client (node:http2, h2c
// prior knowledge) -> Sluice's HTTP listener -> the echo backend's gRPC listener.
import http2 from 'node:http2';
import t from 'tap';
import { startEcho } from '../../src/echo/index.js';
import { decodeEchoResponse, grpcFrame, grpcMessages, GRPC_ECHO_SERVICE } from '../../src/echo/grpc.js';
import { freePort, gatewayYaml, httpGet, httpRouteYaml, serveConfig, serviceYaml } from './harness.js';

const GW_ADDR = '127.0.0.1';

interface GrpcReply {
  status: number;
  grpcStatus: string | undefined;
  messages: Buffer[];
}

function grpcCall(session: http2.ClientHttp2Session, authority: string, method: string, meta: Record<string, string> = {}): Promise<GrpcReply> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':method': 'POST', ':path': `/${GRPC_ECHO_SERVICE}/${method}`, ':authority': authority,
      'content-type': 'application/grpc', te: 'trailers', ...meta,
    });
    let status = 0;
    let grpcStatus: string | undefined;
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      if (typeof h['grpc-status'] === 'string') grpcStatus = h['grpc-status'];
    });
    req.on('trailers', (tr) => {
      if (typeof tr['grpc-status'] === 'string') grpcStatus = tr['grpc-status'];
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, grpcStatus, messages: grpcMessages(Buffer.concat(chunks)) ?? [] }));
    req.on('error', reject);
    req.end(grpcFrame(Buffer.alloc(0)));
  });
}

t.test('GRPCRoute through sluice run: Echo routed by method, metadata passes, EchoThree UNIMPLEMENTED, HTTPRoute on the same port', async (t) => {
  const grpcEcho = await startEcho({ grpc: '127.0.0.1:0', name: 'grpc-echo', namespace: 'default', quiet: true });
  const httpEcho = await startEcho({ listen: '127.0.0.1:0', name: 'http-echo', namespace: 'default', quiet: true });
  const port = await freePort(GW_ADDR);
  t.teardown(async () => {
    await grpcEcho.close();
    await httpEcho.close();
  });
  const { sluice } = await serveConfig(t, `
${gatewayYaml('gw', [{ name: 'http', protocol: 'HTTP', port }], { address: GW_ADDR })}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: { name: echo, namespace: default }
spec:
  parentRefs: [{ name: gw }]
  hostnames: [grpc.example.com]
  rules:
    - matches:
        - method: { service: ${GRPC_ECHO_SERVICE}, method: Echo }
        - method: { service: ${GRPC_ECHO_SERVICE}, method: EchoThree }
      backendRefs: [{ name: grpc-echo, port: 80 }]
${httpRouteYaml('web', 'http-echo', { hostnames: ['web.example.com'] })}
${serviceYaml('grpc-echo', 'default', '127.0.0.1', grpcEcho.ports.grpc!)}
${serviceYaml('http-echo', 'default', '127.0.0.1', httpEcho.ports.http!)}`);
  const session = http2.connect(`http://${GW_ADDR}:${port}`);
  session.on('error', () => undefined);
  t.teardown(() => session.close());

  const echo = await grpcCall(session, 'grpc.example.com', 'Echo', { 'x-request-meta': 'abc' });
  t.equal(echo.status, 200);
  t.equal(echo.grpcStatus, '0', 'grpc-status OK');
  t.equal(echo.messages.length, 1);
  const decoded = decodeEchoResponse(echo.messages[0]);
  t.equal(decoded?.fullyQualifiedMethod, `/${GRPC_ECHO_SERVICE}/Echo`);
  t.equal(decoded?.context.pod, 'grpc-echo', 'answered by the gRPC backend');
  t.equal(decoded?.authority, 'grpc.example.com');
  t.ok(decoded?.headers.some((h) => h.key.toLowerCase() === 'x-request-meta' && h.value === 'abc'), 'request metadata reaches the backend');

  const three = await grpcCall(session, 'grpc.example.com', 'EchoThree');
  t.equal(three.grpcStatus, '12', 'EchoThree is routed and answers UNIMPLEMENTED');

  const two = await grpcCall(session, 'grpc.example.com', 'EchoTwo');
  t.equal(two.status, 404, 'a method no rule matches is not routed');

  const web = await httpGet(`http://${GW_ADDR}:${port}/page`, { host: 'web.example.com' });
  t.equal(web.status, 200, 'HTTP/1.1 HTTPRoute on the same listener');
  t.equal(web.json().pod, 'http-echo');

  const dump = await httpGet(`${sluice.admin}/config_dump`);
  t.equal(dump.status, 200);
  type Cond = { type: string; status: string };
  const statuses = dump.json<{ statuses?: Array<{ kind: string; name: string; status: { parents?: Array<{ conditions: Cond[] }> } }> }>().statuses ?? [];
  const grpcRoute = statuses.find((s) => s.kind === 'GRPCRoute' && s.name === 'echo');
  const accepted = grpcRoute?.status.parents?.[0]?.conditions.find((c) => c.type === 'Accepted');
  t.equal(accepted?.status, 'True', 'the GRPCRoute is Accepted by the HTTP listener');
});
