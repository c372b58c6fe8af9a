import t from 'tap';
import type { Http1Response } from '../../../src/dataplane/h1/response.js';
import { get, sleep, startH1 } from './fixtures/raw.js';

function ok(res: Http1Response): void {
  res.writeHead(200, ['content-length', '2']);
  res.end('ok');
}

t.test('the idle sweep closes a connection idle past the keep-alive timeout', async (t) => {
  const s = await startH1(t, (_req, res) => ok(res), { keepAliveTimeoutMs: 300 });
  const used = await s.client();
  await used.write(get('/'));
  t.equal((await used.response()).status, 200);
  const fresh = await s.client();
  await used.waitClosed();
  t.pass('the used connection is closed');
  await fresh.waitClosed();
  t.pass('a connection that never sent a request is closed too');
  await used.until(() => s.server.connections.size === 0 || null, 'the server to forget both connections');
});

t.test('the idle sweep does not cut a request in progress, and closes the connection once idle', async (t) => {
  let answer: (() => void) | undefined;
  const s = await startH1(t, (_req, res) => {
    answer = () => ok(res);
  }, { keepAliveTimeoutMs: 300 });
  const idle = await s.client();
  const busy = await s.client();
  await busy.write(get('/slow'));
  await idle.waitClosed();
  t.notOk(busy.ended || busy.closed, 'the connection with a request in progress is still open when the idle one is closed');
  // Past a few more sweeps the busy connection stays: its request is still in progress.
  await sleep(500);
  t.notOk(busy.ended || busy.closed, 'still open');
  t.ok(answer !== undefined);
  answer?.();
  t.equal((await busy.response()).body.toString(), 'ok', 'the late answer arrives');
  await busy.waitClosed();
  t.pass('then, idle, it is swept');
});

t.test('closeIdleConnections closes only connections without a request in progress', async (t) => {
  const pending: Array<() => void> = [];
  const s = await startH1(t, (req, res) => {
    if (req.url === '/hold') pending.push(() => ok(res));
    else ok(res);
  });
  const idleUsed = await s.client();
  await idleUsed.write(get('/'));
  await idleUsed.response();
  const idleFresh = await s.client();
  const busy = await s.client();
  await busy.write(get('/hold'));
  await busy.until(() => pending.length === 1 || null, 'the held request');
  await busy.until(() => s.server.connections.size === 3 || null, 'three connections');
  s.server.closeIdleConnections();
  await idleUsed.waitClosed();
  await idleFresh.waitClosed();
  t.notOk(busy.ended || busy.closed, 'the busy connection is kept');
  pending[0]();
  t.equal((await busy.response()).body.toString(), 'ok', 'and its response completes');
  s.server.closeIdleConnections();
  await busy.waitClosed();
  t.pass('once answered it is idle and closed by the next call');
});

t.test('closeAllConnections closes busy connections too; their response emits close', async (t) => {
  let closedBeforeEnd = false;
  const s = await startH1(t, (_req, res) => {
    res.on('close', () => (closedBeforeEnd = true));
    res.writeHead(200, ['content-length', '100']);
    res.write('part');
  });
  const busy = await s.client();
  const idle = await s.client();
  await busy.write(get('/'));
  await busy.readUntil('part');
  s.server.closeAllConnections();
  await busy.waitClosed();
  await idle.waitClosed();
  t.ok(closedBeforeEnd, 'the abandoned response emitted close');
  await busy.until(() => s.server.connections.size === 0 || null, 'no connections left');
});

t.test('a pipelined queue is not idle: closeIdleConnections keeps it until every answer is out', async (t) => {
  const pending: Array<() => void> = [];
  const s = await startH1(t, (_req, res) => pending.push(() => ok(res)));
  const c = await s.client();
  await c.write(get('/1') + get('/2'));
  await c.until(() => pending.length === 1 || null, 'the first request');
  pending[0]();
  await c.response();
  await c.until(() => pending.length === 2 || null, 'the second request');
  s.server.closeIdleConnections();
  await sleep(50);
  t.notOk(c.ended || c.closed, 'kept while the second request is in progress');
  pending[1]();
  t.equal((await c.response()).body.toString(), 'ok');
});

t.test('a response still flushing to a slow reader is not cut by the idle sweep or closeIdleConnections', async (t) => {
  const size = 32 * 1024 * 1024;
  const s = await startH1(t, (_req, res) => {
    res.writeHead(200, ['content-length', String(size)]);
    res.end(Buffer.alloc(size, 'b'));
  }, { keepAliveTimeoutMs: 300 });
  const c = await s.client();
  await c.write(get('/big'));
  // Read nothing for a while: the server has ended the response, but most of it still waits in its socket buffer.
  c.socket.pause();
  await sleep(2_500);
  s.server.closeIdleConnections();
  await sleep(100);
  c.socket.resume();
  const r = await c.response();
  t.equal(r.body.length, size, 'the whole body arrived');
  t.ok(r.body.every((b) => b === 0x62), 'intact');
});
