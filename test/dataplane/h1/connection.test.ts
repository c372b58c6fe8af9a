import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import t from 'tap';
import type { Http1Request } from '../../../src/dataplane/h1/request.js';
import type { Http1Response } from '../../../src/dataplane/h1/response.js';
import { field, get, sleep, startH1, within } from './fixtures/raw.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Read a request body whole (flowing). */
function readBody(req: Http1Request): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function reply(res: Http1Response, body: string): void {
  res.writeHead(200, ['content-type', 'text/plain', 'content-length', String(Buffer.byteLength(body))]);
  res.end(body);
}

t.test('pipelining: three requests in one write are answered in order', async (t) => {
  const order: string[] = [];
  const s = await startH1(t, (req, res) => {
    order.push(req.url);
    reply(res, `answer ${req.url}`);
  });
  const c = await s.client();
  await c.write(get('/1') + get('/2') + get('/3'));
  for (const n of [1, 2, 3]) t.equal((await c.response()).body.toString(), `answer /${n}`);
  t.same(order, ['/1', '/2', '/3']);
});

t.test('pipelining: a late first answer still comes first; the next handler starts only after it', async (t) => {
  const started: string[] = [];
  const s = await startH1(t, (req, res) => {
    started.push(req.url);
    if (req.url === '/slow') {
      setTimeout(() => {
        t.same(started, ['/slow'], 'the second request waits for the first answer');
        reply(res, 'slow');
      }, 150);
    } else reply(res, `fast ${req.url}`);
  });
  const c = await s.client();
  await c.write(get('/slow') + get('/a') + get('/b'));
  t.equal((await c.response()).body.toString(), 'slow');
  t.equal((await c.response()).body.toString(), 'fast /a');
  t.equal((await c.response()).body.toString(), 'fast /b');
  t.same(started, ['/slow', '/a', '/b']);
});

t.test('pipelining: a request with a body between two others', async (t) => {
  const s = await startH1(t, (req, res) => {
    void readBody(req).then((body) => reply(res, `${req.method} ${req.url} [${body.toString()}]`));
  });
  const c = await s.client();
  const post = 'POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world';
  const chunked = 'PUT /c HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n';
  await c.write(get('/1') + post + chunked + get('/2'));
  t.equal((await c.response()).body.toString(), 'GET /1 []');
  t.equal((await c.response()).body.toString(), 'POST /p [hello world]');
  t.equal((await c.response()).body.toString(), 'PUT /c [abcde]');
  t.equal((await c.response()).body.toString(), 'GET /2 []');
});

t.test('request bodies: Content-Length and chunked, split across writes', async (t) => {
  const s = await startH1(t, (req, res) => {
    void readBody(req).then((body) => reply(res, `${req.headers['content-length'] ?? 'chunked'}:${body.toString()}`));
  });
  const c = await s.client();
  await c.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\n01234');
  await sleep(20);
  await c.write('56789');
  t.equal((await c.response()).body.toString(), '10:0123456789');
  await c.write('POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel');
  await sleep(20);
  await c.write('lo\r\n6\r\n world\r\n0\r\n\r\n');
  t.equal((await c.response()).body.toString(), 'chunked:hello world');
});

t.test('large bodies with backpressure: a slow reader gets every byte intact', async (t) => {
  const size = 8 * 1024 * 1024;
  const payload = randomBytes(size);
  let maxBuffered = 0;
  const s = await startH1(t, (req, res) => {
    // Paused mode: read a little, then wait, so the connection has to stop reading the socket.
    const parts: Buffer[] = [];
    let total = 0;
    const pump = (): void => {
      let chunk: Buffer | null;
      let n = 0;
      while (n < 4 && (chunk = req.read() as Buffer | null) !== null) {
        parts.push(chunk);
        total += chunk.length;
        n++;
      }
      maxBuffered = Math.max(maxBuffered, req.readableLength);
      if (req.readableEnded || (req.complete && req.readableLength === 0 && total === size)) return;
      setTimeout(pump, 2);
    };
    req.on('end', () => {
      const body = Buffer.concat(parts);
      reply(res, `${body.length} ${sha(body)}`);
    });
    pump();
  });
  const c = await s.client();
  const chunkedBody = (): Buffer => {
    const out: Buffer[] = [];
    for (let off = 0; off < size; off += 100_000) {
      const piece = payload.subarray(off, off + 100_000);
      out.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    out.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(out);
  };
  const want = `${size} ${sha(payload)}`;

  c.socket.write(`POST /cl HTTP/1.1\r\nHost: test\r\nContent-Length: ${size}\r\n\r\n`);
  c.socket.write(payload);
  t.equal((await c.response()).body.toString(), want, 'Content-Length body intact');
  t.ok(maxBuffered < size / 2, `the server buffered only part of the body in the request (${maxBuffered} bytes at most)`);

  c.socket.write('POST /chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n');
  c.socket.write(chunkedBody());
  t.equal((await c.response()).body.toString(), want, 'chunked body intact');
});

t.test('a handler answering before reading the body: the rest is dropped, the next request works', async (t) => {
  const seen: string[] = [];
  const s = await startH1(t, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    reply(res, req.url === '/early' ? 'early' : `ok ${req.url}`);
  });
  const c = await s.client();
  const size = 2 * 1024 * 1024;
  await c.write(`POST /early HTTP/1.1\r\nHost: test\r\nContent-Length: ${size}\r\n\r\n`);
  await c.write(randomBytes(1000));
  t.equal((await c.response()).body.toString(), 'early', 'answered before the body');
  // The rest of the body, then the next request: the body bytes must not be parsed as a request.
  await c.write(Buffer.concat([randomBytes(size - 1000), Buffer.from(get('/next'))]));
  const r = await c.response();
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'ok /next');
  t.same(seen, ['POST /early', 'GET /next']);

  // Same with a chunked body.
  await c.write('POST /early HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n');
  t.equal((await c.response()).body.toString(), 'early');
  await c.write('4\r\nwxyz\r\n0\r\n\r\n' + get('/after-chunked'));
  t.equal((await c.response()).body.toString(), 'ok /after-chunked');
});

t.test('Expect: 100-continue gets 100 Continue before the body is sent', async (t) => {
  const s = await startH1(t, (req, res) => {
    void readBody(req).then((body) => reply(res, `got ${body.toString()}`));
  });
  const c = await s.client();
  await c.write('POST / HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
  t.equal(await c.readUntil('\r\n\r\n'), 'HTTP/1.1 100 Continue\r\n\r\n', 'the interim response comes first');
  await c.write('hello');
  const r = await c.response();
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'got hello');
  await c.write(get('/'));
  t.equal((await c.response()).body.toString(), 'got ', 'the connection is reused');
});

t.test('another Expect value gets 417 and the handler is not called', async (t) => {
  let calls = 0;
  const s = await startH1(t, (_req, res) => {
    calls++;
    reply(res, 'ok');
  });
  const c = await s.client();
  await c.write('POST / HTTP/1.1\r\nHost: test\r\nExpect: something-else\r\nContent-Length: 3\r\n\r\nabc');
  const r = await c.response();
  t.equal(r.status, 417);
  t.equal(calls, 0);
  await c.write(get('/'));
  t.equal((await c.response()).status, 200, 'the next request on the connection is served');
  t.equal(calls, 1);
});

t.test('malformed request -> 400 and the connection closes', async (t) => {
  let calls = 0;
  const s = await startH1(t, (_req, res) => {
    calls++;
    reply(res, 'ok');
  });
  for (const bad of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: test\r\nbad header line\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n',
    'POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab']) {
    const c = await s.client();
    await c.write(bad);
    const r = await c.response();
    t.equal(r.status, 400, JSON.stringify(bad));
    t.equal(field(r, 'connection'), 'close');
    await c.waitClosed();
  }
  t.equal(calls, 0, 'no handler saw a malformed request');

  // After a good request on the same connection.
  const c = await s.client();
  await c.write(get('/good') + 'GARBAGE\r\n\r\n');
  t.equal((await c.response()).status, 200, 'the good request is answered');
  t.equal((await c.response()).status, 400, 'then the garbage gets 400');
  await c.waitClosed();
});

t.test('a malformed request pipelined after a slow one is answered 400 after it', async (t) => {
  const s = await startH1(t, (_req, res) => {
    setTimeout(() => reply(res, 'slow'), 100);
  });
  const c = await s.client();
  await c.write(get('/slow') + 'GARBAGE\r\n\r\n');
  t.equal((await c.response()).body.toString(), 'slow');
  t.equal((await c.response()).status, 400);
  await c.waitClosed();
});

t.test('a header block over the limit -> 431', async (t) => {
  let calls = 0;
  const s = await startH1(t, (_req, res) => {
    calls++;
    reply(res, 'ok');
  });
  const c = await s.client();
  await c.write(get('/', [`X-Big: ${'a'.repeat(64 * 1024)}`]));
  const r = await c.response();
  t.equal(r.status, 431);
  await c.waitClosed();
  t.equal(calls, 0);

  // Many moderate headers summing past the limit, sent in pieces.
  const c2 = await s.client();
  await c2.write('GET / HTTP/1.1\r\nHost: test\r\n');
  for (let i = 0; i < 40; i++) await c2.write(`X-H${i}: ${'b'.repeat(1000)}\r\n`);
  await c2.write('\r\n').catch(() => undefined);
  t.equal((await c2.response()).status, 431);
});

t.test('client FIN mid-response: the response emits close before the handler ends it; a late end() writes nothing', async (t) => {
  const events: string[] = [];
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const s = await startH1(t, (req, res) => {
    res.on('close', () => {
      events.push(`close finished=${String(res.finished)}`);
      // The handler's end() comes too late: it must do nothing.
      res.end('too late');
      resolveClosed();
    });
    req.on('aborted', () => events.push('aborted'));
    res.writeHead(200, ['content-type', 'text/plain']);
    res.write('partial');
  });
  const c = await s.client();
  await c.write(get('/'));
  await c.readUntil('partial');
  c.end();
  await within(closed, 'the response close');
  t.same(events, ['close finished=true'], 'one close (finished is set so the late end() is a no-op), no aborted: the GET was complete');
  await c.waitClosed();
  await c.until(() => c.closed, 'the socket to close');
  t.notOk(c.buf.toString().includes('too late'));
  await c.until(() => s.server.connections.size === 0 || null, 'the server to forget the connection').catch(() => undefined);
  t.equal(s.server.connections.size, 0, 'the server forgot the connection');
});

t.test('client FIN (or reset) in the middle of a request body: the request is aborted', async (t) => {
  for (const how of ['end', 'destroy'] as const) {
    const seen: string[] = [];
    let done: () => void = () => undefined;
    const finished = new Promise<void>((r) => (done = r));
    const s = await startH1(t, (req, res) => {
      req.on('aborted', () => seen.push('aborted'));
      req.on('data', () => undefined);
      req.on('end', () => seen.push('end'));
      req.on('close', () => {
        seen.push(`req close aborted=${String(req.aborted)}`);
        done();
      });
      res.on('close', () => seen.push('res close'));
    });
    const c = await s.client();
    await c.write('POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\nonly part');
    await sleep(30);
    if (how === 'end') c.end();
    else c.destroy();
    await within(finished, 'the request close');
    t.ok(seen.includes('aborted'), `${how}: 'aborted' emitted`);
    t.notOk(seen.includes('end'), `${how}: the body never ended normally`);
    t.ok(seen.includes('req close aborted=true'), `${how}: req.aborted is set`);
    await c.until(() => seen.includes('res close') || null, 'the response close');
    t.pass(`${how}: the response emitted close`);
  }
});

t.test('Upgrade: the handler gets the request, the socket and the bytes after the head; the socket echoes', async (t) => {
  let got: { url: string; upgrade: string | undefined; head: string } | undefined;
  const s = await startH1(t, () => t.fail('request handler must not run for an upgrade'), {
    upgrade: (req: Http1Request, socket: Socket, head: Buffer) => {
      got = { url: req.url, upgrade: req.headers.upgrade, head: head.toString() };
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n');
      socket.write(head);
      socket.on('data', (d: Buffer) => socket.write(d));
      socket.on('end', () => socket.end());
    },
  });
  const c = await s.client();
  await c.write('GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly-bytes|');
  t.match(await c.readUntil('\r\n\r\n'), /^HTTP\/1\.1 101 /);
  t.equal(await c.readUntil('early-bytes|'), 'early-bytes|', 'the bytes sent with the head come back first');
  await c.write('ping-1|');
  t.equal(await c.readUntil('ping-1|'), 'ping-1|');
  await c.write(Buffer.alloc(200_000, 'z'));
  await c.until(() => c.buf.length >= 200_000 || null, 'a large echo');
  t.equal(c.buf.toString(), 'z'.repeat(200_000));
  t.same(got, { url: '/ws', upgrade: 'echo', head: 'early-bytes|' });
  t.equal(s.server.connections.size, 0, 'the connection is no longer the server\'s (no idle sweep, no closeAll)');
  c.end();
  await c.waitClosed();
});

t.test('Upgrade with nothing after the head gets an empty head', async (t) => {
  let head: Buffer | undefined;
  const s = await startH1(t, () => undefined, {
    upgrade: (_req, socket, h) => {
      head = h;
      socket.on('data', (d: Buffer) => socket.write(d));
    },
  });
  const c = await s.client();
  await c.write('GET / HTTP/1.1\r\nHost: test\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n');
  await c.until(() => head !== undefined || null, 'the upgrade handler');
  t.equal(head?.length, 0);
  await c.write('later');
  t.equal(await c.readUntil('later'), 'later', 'bytes written after the hand-over reach the new owner');
});

t.test('Upgrade after a keep-alive request on the same connection', async (t) => {
  let upgraded = false;
  const s = await startH1(t, (_req, res) => reply(res, 'plain'), {
    upgrade: (_req, socket, head) => {
      upgraded = true;
      socket.write(head);
      socket.on('data', (d: Buffer) => socket.write(d));
    },
  });
  const c = await s.client();
  await c.write(get('/'));
  t.equal((await c.response()).body.toString(), 'plain');
  await c.write('GET / HTTP/1.1\r\nHost: test\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\nhi');
  t.equal(await c.readUntil('hi'), 'hi');
  t.ok(upgraded);
});
