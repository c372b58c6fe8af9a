import type http2 from 'node:http2';
import type { ClientHttp2Stream } from 'node:http2';
import t from 'tap';
import { backend, cluster, eventually, freePort, listener, port, route, table, testDataPlane, vhost } from '../fixtures/helpers.js';
import { h2connect, h2request } from './fixtures/client.js';
import { startStreamingBackend } from './fixtures/streaming-backend.js';

function nextChunk(stream: ClientHttp2Stream): Promise<string> {
  return new Promise((resolve, reject) => {
    stream.once('data', (c: Buffer) => resolve(c.toString()));
    stream.once('error', reject);
  });
}

t.test('a bidirectional stream flows chunk by chunk both ways (nothing buffered), trailers pass, idle sessions close', async (t) => {
  const be = await startStreamingBackend();
  const p = await freePort();
  const { dp } = testDataPlane({ keepAliveTimeoutMs: 300 });
  t.teardown(async () => {
    await dp.close();
    be.server.close();
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('s', {}, { backends: [backend('s')] })])])])],
    [cluster('s', [{ address: '127.0.0.1', port: be.port }], 'h2c')]));

  const session = await h2connect(`http://127.0.0.1:${p}`);
  const closed = new Promise<void>((r) => session.once('close', () => r()));
  const stream = session.request({ ':method': 'POST', ':path': '/svc/Chat', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
  const head = await new Promise<http2.IncomingHttpHeaders>((r) => stream.once('response', r));
  t.equal(head[':status'], 200);
  t.equal(head['x-path'], '/svc/Chat');
  let trailers: http2.IncomingHttpHeaders = {};
  stream.on('trailers', (tr) => { trailers = tr; });

  // Each reply must arrive before the next request chunk is sent: a proxy that buffered
  // either direction would never deliver it (the stream is still open).
  for (const word of ['one', 'two', 'three']) {
    const reply = nextChunk(stream);
    stream.write(word);
    t.equal(await reply, `echo:${word}`, `reply to "${word}" arrives while the stream is open`);
    // Longer than the 300 ms idle timeout: a session with an open stream is not idle.
    if (word === 'two') await new Promise((r) => setTimeout(r, 600));
  }
  const ended = new Promise<void>((r) => stream.once('end', () => r()));
  stream.resume();
  stream.end();
  await ended;
  t.equal(trailers['grpc-status'], '0', 'trailers from the backend reach the client');
  t.equal(trailers['grpc-message'], 'done');

  let closedNow = false;
  void closed.then(() => { closedNow = true; });
  await eventually(() => closedNow, 5_000);
  t.ok(closedNow, 'the idle session is closed by the proxy after the keep-alive timeout');
});

t.test('drain sends GOAWAY to open HTTP/2 sessions, which then close; close() ends a session still being sniffed', async (t) => {
  const be = await startStreamingBackend();
  const p = await freePort();
  const { dp } = testDataPlane({ keepAliveTimeoutMs: 60_000 });
  t.teardown(async () => {
    await dp.close();
    be.server.close();
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('s', {}, { backends: [backend('s')] })])])])],
    [cluster('s', [{ address: '127.0.0.1', port: be.port }], 'h2c')]));
  const session = await h2connect(`http://127.0.0.1:${p}`);
  const reply = await h2request(session, { ':method': 'POST', ':path': '/svc/One' }, 'x');
  t.equal(reply.text(), 'echo:x', 'the session is established and used');
  let goaway = false;
  session.on('goaway', () => { goaway = true; });
  session.on('error', () => undefined);
  const closed = new Promise<void>((r) => session.once('close', () => r()));
  // Far longer than the test's wait: the session must close because of GOAWAY, not the grace timer.
  const drained = dp.drain(60_000);
  await closed;
  t.ok(goaway, 'the client got GOAWAY');
  await drained;
  t.pass('drain completed once the idle session closed');

  // A connection opened right before close(): the proxy may still be reading its preface.
  const { dp: dp2 } = testDataPlane({ keepAliveTimeoutMs: 60_000 });
  const p2 = await freePort();
  await dp2.apply(table([port(p2, [listener('http', [vhost('*', [route('s', {}, { backends: [backend('s')] })])])])],
    [cluster('s', [{ address: '127.0.0.1', port: be.port }], 'h2c')]));
  const late = await h2connect(`http://127.0.0.1:${p2}`);
  late.on('error', () => undefined);
  const lateClosed = new Promise<void>((r) => late.once('close', () => r()));
  await dp2.close();
  await lateClosed;
  t.ok(late.closed || late.destroyed, 'the late session is closed, not left for the idle timer');
});
