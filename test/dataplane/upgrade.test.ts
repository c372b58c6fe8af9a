import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { WebSocket, WebSocketServer } from 'ws';
import { backend, cluster, freePort, listener, port, request, route, table, testDataPlane, vhost } from './fixtures/helpers.js';

t.test('WebSocket echo through the proxy, with request filters applied to the handshake', async (t) => {
  const seenHeaders: http.IncomingHttpHeaders[] = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws, req) => {
    seenHeaders.push(req.headers);
    ws.on('message', (data) => ws.send(`echo:${String(data)}`));
  });
  const wsPort = (wss.address() as AddressInfo).port;
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [
    route('ws', { path: { type: 'PathPrefix', value: '/ws' } }, {
      filters: [{ type: 'RequestHeaderModifier', set: [{ name: 'x-via', value: 'sluice' }], add: [], remove: [] }],
      backends: [backend('ws')],
    }),
  ])])])], [cluster('ws', [{ address: '127.0.0.1', port: wsPort }])]));

  const ws = new WebSocket(`ws://127.0.0.1:${p}/ws/chat`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const replies: string[] = [];
  const got = new Promise<void>((resolve) => ws.on('message', (d) => {
    replies.push(String(d));
    if (replies.length === 3) resolve();
  }));
  ws.send('one');
  ws.send('two');
  ws.send('x'.repeat(100_000));
  await got;
  t.same(replies.slice(0, 2), ['echo:one', 'echo:two']);
  t.equal(replies[2].length, 100_005, 'a large frame survives the pipe');
  t.equal(seenHeaders[0]['x-via'], 'sluice', 'header filter applied to the handshake');
  t.equal(seenHeaders[0]['x-forwarded-for'], '127.0.0.1');
  ws.close();
  const until = Date.now() + 2000;
  while (log.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  t.equal(log[0]?.status, 101);
  t.equal(log[0]?.route, 'default/ws/0');

  const miss = await new Promise<number>((resolve) => {
    const bad = new WebSocket(`ws://127.0.0.1:${p}/nothing-here`);
    bad.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    bad.on('error', () => undefined);
  });
  t.equal(miss, 404, 'an upgrade without a route gets 404');
});

t.test('h2c upstream: body, headers and trailers', async (t) => {
  const seen: http2.IncomingHttpHeaders[] = [];
  const h2 = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  h2.on('stream', (stream, headers) => {
    seen.push(headers);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain', 'x-h2': 'yes' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(`h2 got ${Buffer.concat(chunks).length} bytes on ${String(headers[':path'])}`);
    });
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
  const h2port = (h2.address() as AddressInfo).port;
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(async () => {
    await dp.close();
    await new Promise<void>((r) => h2.close(() => r()));
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('g', {}, { backends: [backend('h2')] })])])])],
    [cluster('h2', [{ address: '127.0.0.1', port: h2port }], 'h2c')]));
  const r = await request(p, '/svc/Method?x=1', { host: 'grpc.example.com', method: 'POST', body: 'abcdef', headers: { te: 'trailers' } });
  t.equal(r.status, 200);
  t.equal(r.body, 'h2 got 6 bytes on /svc/Method?x=1');
  t.equal(r.headers['x-h2'], 'yes');
  t.equal(seen[0][':authority'], 'grpc.example.com');
  t.equal(seen[0]['te'], 'trailers');
  const trailers = await new Promise<NodeJS.Dict<string>>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: p, path: '/t', method: 'GET', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.trailers));
    });
    req.on('error', reject);
    req.end();
  });
  t.equal(trailers['grpc-status'], '0', 'trailers reach the HTTP/1.1 client');
  // The server sends GOAWAY and closes: the next request opens a new session.
  t.equal(sessions.size, 1, 'requests share one session');
  for (const s of sessions) s.close();
  await new Promise((r) => setTimeout(r, 50));
  const again = await request(p, '/again');
  t.equal(again.status, 200, 'a new session after GOAWAY');
  t.equal(again.body, 'h2 got 0 bytes on /again');
});

t.test('h2c upstream that refuses connections gives 502, and recovers when it comes up', async (t) => {
  const upPort = await freePort();
  const p = await freePort();
  const { dp, log } = testDataPlane();
  t.teardown(() => dp.close());
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('g', {}, { backends: [backend('h2')] })])])])],
    [cluster('h2', [{ address: '127.0.0.1', port: upPort }], 'h2c')]));
  const r = await request(p, '/x');
  t.equal(r.status, 502);
  t.match(log[0].reason, /^upstream_/);
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    stream.respond({ ':status': 200 });
    stream.end('up');
  });
  await new Promise<void>((resolve) => h2.listen(upPort, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => h2.close(() => resolve())));
  const ok = await request(p, '/x');
  t.equal(ok.status, 200, 'a new session is opened once the upstream listens');
  t.equal(ok.body, 'up');
});
