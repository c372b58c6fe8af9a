import http2 from 'node:http2';
import t from 'tap';
import { startEcho as startGrpcEcho } from '../../../src/echo/index.js';
import { decodeEchoResponse, grpcFrame, grpcMessages, GRPC_ECHO_SERVICE } from '../../../src/echo/grpc.js';
import { createDevCA } from '../../../src/util/devcert.js';
import { backend, cluster, freePort, listener, port, request, route, startEcho, table, testDataPlane, vhost } from '../fixtures/helpers.js';
import { h2connect, h2request } from './fixtures/client.js';

t.test('h2c prior knowledge and HTTP/1.1 share a cleartext port; routing by host, path and header', async (t) => {
  const a = await startEcho('a');
  const b = await startEcho('b');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await a.close();
    await b.close();
  });
  await dp.apply(table([port(p, [listener('http', [
    vhost('a.test', [
      route('hdr', { headers: [{ type: 'Exact', name: 'x-pick', value: 'b' }] }, { backends: [backend('b')] }),
      route('a', {}, { backends: [backend('a')] }),
    ]),
    vhost('b.test', [route('bpath', { path: { type: 'PathPrefix', value: '/only' } }, { backends: [backend('b')] })]),
  ])])], [cluster('a', [a.endpoint]), cluster('b', [b.endpoint])]));

  const s = await h2connect(`http://127.0.0.1:${p}`);
  t.teardown(() => s.close());
  const r1 = await h2request(s, { ':path': '/hello?q=1', ':authority': 'a.test', 'x-extra': 'one' });
  t.equal(r1.status, 200);
  const seen1 = r1.json();
  t.equal(seen1.name, 'a', 'host a.test, no header -> a');
  t.equal(seen1.path, '/hello?q=1');
  t.equal(seen1.host, 'a.test', ':authority becomes Host upstream');
  t.same(seen1.headers['x-extra'], ['one']);
  t.notOk(Object.keys(seen1.headers).some((k) => k.startsWith(':')), 'no pseudo-header goes upstream');
  t.same(seen1.headers['x-forwarded-proto'], ['http']);

  const r2 = await h2request(s, { ':path': '/hello', ':authority': 'a.test', 'x-pick': 'b' });
  t.equal(r2.json().name, 'b', 'header match on the same session');

  const r3 = await h2request(s, { ':path': '/only/x', ':authority': 'b.test' });
  t.equal(r3.json().name, 'b', 'path match on another vhost');
  const miss = await h2request(s, { ':path': '/elsewhere', ':authority': 'b.test' });
  t.equal(miss.status, 404, 'no route -> 404 over h2');
  t.equal(log.at(-1)?.reason, 'no_route');

  const post = await h2request(s, { ':method': 'POST', ':path': '/up', ':authority': 'a.test' }, 'a body without content-length');
  t.equal(post.status, 200);
  t.equal(post.json().body, 'a body without content-length', 'an h2 request body streams to an HTTP/1.1 backend');

  const h1 = await request(p, '/hello', { host: 'a.test' });
  t.equal(h1.status, 200, 'HTTP/1.1 on the same port');
  t.equal(h1.json().name, 'a');
  const h1b = await request(p, '/only/y', { host: 'b.test', method: 'POST', body: 'x'.repeat(100) });
  t.equal(h1b.json().body.length, 100);
  t.ok(log.some((e) => e.route.startsWith('default/hdr')), 'access log sees h2 requests');
});

t.test('HTTPS: ALPN h2 and http/1.1 on one port, SNI certificates, 421 on a foreign :authority', async (t) => {
  const ca = createDevCA('h2 test CA');
  const certA = ca.issue(['a.example.com']);
  const certB = ca.issue(['b.example.com']);
  const a = await startEcho('a');
  const b = await startEcho('b');
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await a.close();
    await b.close();
  });
  const tlsFor = (secret: string, pair: { certPem: string; keyPem: string }) => ({ certificates: [{ secret, certPem: pair.certPem, keyPem: pair.keyPem }] });
  await dp.apply(table([port(p, [
    listener('a', [vhost('a.example.com', [route('ra', {}, { backends: [backend('a')] })])], { hostname: 'a.example.com', tls: tlsFor('default/a', certA) }),
    listener('b', [vhost('b.example.com', [route('rb', {}, { backends: [backend('b')] })])], { hostname: 'b.example.com', tls: tlsFor('default/b', certB) }),
  ], { protocol: 'HTTPS' })], [cluster('a', [a.endpoint]), cluster('b', [b.endpoint])]));

  const s = await h2connect(`https://127.0.0.1:${p}`, { ca: ca.certPem, servername: 'a.example.com' });
  t.teardown(() => s.close());
  t.equal(s.alpnProtocol, 'h2', 'ALPN picked h2');
  const r = await h2request(s, { ':path': '/x', ':authority': 'a.example.com' });
  t.equal(r.status, 200);
  t.equal(r.json().name, 'a');
  t.same(r.json().headers['x-forwarded-proto'], ['https']);
  const mis = await h2request(s, { ':path': '/x', ':authority': 'b.example.com' });
  t.equal(mis.status, 421, 'a request for another listener on this TLS session -> 421');
  t.equal(log.at(-1)?.reason, 'misdirected_request');

  const sb = await h2connect(`https://127.0.0.1:${p}`, { ca: ca.certPem, servername: 'b.example.com' });
  t.teardown(() => sb.close());
  t.equal((await h2request(sb, { ':path': '/', ':authority': 'b.example.com' })).json().name, 'b');

  const h1 = await request(p, '/y', { host: 'b.example.com', tls: { servername: 'b.example.com', ca: ca.certPem } });
  t.equal(h1.status, 200, 'HTTP/1.1 over TLS still works');
  t.equal(h1.json().name, 'b');
});

t.test('gRPC through the proxy to an h2c backend: Echo with metadata, EchoThree -> UNIMPLEMENTED, over h2c and h2', async (t) => {
  const echo = await startGrpcEcho({ grpc: '127.0.0.1:0', quiet: true, pod: 'grpc-pod', namespace: 'ns1' });
  const ca = createDevCA('grpc test CA');
  const cert = ca.issue(['grpc.example.com']);
  const p = await freePort();
  const ps = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await echo.close();
  });
  const grpcPort = echo.ports.grpc!;
  const routes = () => [vhost('grpc.example.com', [
    route('grpc', { path: { type: 'PathPrefix', value: `/${GRPC_ECHO_SERVICE}/` }, grpc: { type: 'Exact', service: GRPC_ECHO_SERVICE } }, { backends: [backend('g')] }),
  ])];
  await dp.apply(table([
    port(p, [listener('http', routes())]),
    port(ps, [listener('https', routes(), { hostname: 'grpc.example.com', tls: { certificates: [{ secret: 'default/g', certPem: cert.certPem, keyPem: cert.keyPem }] } })], { protocol: 'HTTPS' }),
  ], [cluster('g', [{ address: '127.0.0.1', port: grpcPort }], 'h2c')]));

  const call = async (session: http2.ClientHttp2Session, method: string) => h2request(session, {
    ':method': 'POST', ':path': `/${GRPC_ECHO_SERVICE}/${method}`, ':authority': 'grpc.example.com',
    'content-type': 'application/grpc', te: 'trailers', 'x-grpc-meta': 'hello',
  }, grpcFrame(Buffer.alloc(0)));

  for (const [what, session] of [
    ['h2c', await h2connect(`http://127.0.0.1:${p}`)],
    ['h2 over TLS', await h2connect(`https://127.0.0.1:${ps}`, { ca: ca.certPem, servername: 'grpc.example.com' })],
  ] as const) {
    t.teardown(() => session.close());
    const r = await call(session, 'Echo');
    t.equal(r.status, 200, `${what}: HTTP 200`);
    t.equal(r.headers['content-type'], 'application/grpc');
    t.equal(r.trailers['grpc-status'], '0', `${what}: grpc-status 0 arrives as a trailer`);
    const messages = grpcMessages(r.body);
    t.equal(messages?.length, 1, 'one response message');
    const decoded = decodeEchoResponse(messages![0]);
    t.equal(decoded?.fullyQualifiedMethod, `/${GRPC_ECHO_SERVICE}/Echo`);
    t.equal(decoded?.authority, 'grpc.example.com');
    t.equal(decoded?.context.pod, 'grpc-pod');
    t.ok(decoded?.headers.some((h) => h.key.toLowerCase() === 'x-grpc-meta' && h.value === 'hello'), `${what}: metadata reaches the backend`);

    const three = await call(session, 'EchoThree');
    t.equal(three.trailers['grpc-status'] ?? three.headers['grpc-status'], '12', `${what}: EchoThree -> UNIMPLEMENTED through the proxy`);
  }
  t.ok(log.some((e) => e.path.endsWith('/Echo') && e.status === 200 && e.upstream === `127.0.0.1:${grpcPort}`), 'access log names the upstream');
});
