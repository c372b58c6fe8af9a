import type http from 'node:http';
import t from 'tap';
import type { Http1Request } from '../../../src/dataplane/h1/request.js';
import { ResponseHeadError, type Http1Response } from '../../../src/dataplane/h1/response.js';
import { field, fieldValues, get, startH1, startNode, type RawClient, type RawResponse } from './fixtures/raw.js';

/** A handler that answers `/len` with a Content-Length, `/nolen` without one, `/s/NNN` with status NNN. */
function framingHandler(req: Http1Request | http.IncomingMessage, res: Http1Response | http.ServerResponse): void {
  const url = req.url ?? '/';
  if (url === '/len') {
    res.writeHead(200, ['content-type', 'text/plain', 'content-length', '5']);
    res.end('hello');
  } else if (url === '/nolen') {
    res.writeHead(200, ['content-type', 'text/plain']);
    res.write('hel');
    res.end('lo');
  } else if (url === '/implicit') {
    res.end('hello');
  } else if (url.startsWith('/s/')) {
    res.writeHead(Number(url.slice(3)), ['x-status', url.slice(3)]);
    res.end();
  } else if (url === '/date') {
    res.writeHead(200, ['Date', 'Mon, 01 Jan 2024 00:00:00 GMT', 'content-length', '0']);
    res.end();
  } else {
    res.writeHead(404, ['content-length', '0']);
    res.end();
  }
}

/** Whether the server closes right after answering (probed by a follow-up request on the same connection). */
async function closesAfter(c: RawClient): Promise<boolean> {
  if (c.ended || c.closed) return true;
  await c.write(get('/len'));
  await c.until(() => c.ended || c.closed || c.buf.length > 0, 'a response or a close');
  return c.buf.length === 0;
}

t.test('keep-alive: one connection serves several requests, announcing keep-alive and its timeout', async (t) => {
  const s = await startH1(t, framingHandler, { keepAliveTimeoutMs: 7_000 });
  const c = await s.client();
  for (let i = 0; i < 3; i++) {
    await c.write(get('/len'));
    const r = await c.response();
    t.equal(r.status, 200);
    t.equal(r.body.toString(), 'hello');
    t.equal(field(r, 'connection'), 'keep-alive');
    t.equal(field(r, 'keep-alive'), 'timeout=7');
  }
  t.equal(s.server.connections.size, 1, 'still one connection');
  t.notOk(c.ended || c.closed, 'the connection stays open');
});

t.test('client Connection: close -> the response says close and the socket closes after it', async (t) => {
  const s = await startH1(t, framingHandler);
  const c = await s.client();
  await c.write(get('/len', ['Connection: close']));
  const r = await c.response();
  t.equal(r.body.toString(), 'hello');
  t.equal(field(r, 'connection'), 'close');
  t.equal(field(r, 'keep-alive'), undefined, 'no Keep-Alive on a closing response');
  await c.waitClosed();
  t.ok(c.ended, 'the server sent FIN');
});

t.test('handler Connection: close -> the socket closes after the response', async (t) => {
  const s = await startH1(t, (_req, res) => {
    res.writeHead(200, ['Connection', 'close', 'content-length', '2']);
    res.end('ok');
  });
  const c = await s.client();
  await c.write(get('/'));
  const r = await c.response();
  t.same(fieldValues(r, 'connection'), ['close'], 'the handler\'s Connection field, not a second one');
  await c.waitClosed();
});

t.test('HTTP/1.0', async (t) => {
  const s = await startH1(t, framingHandler);

  t.test('without keep-alive: Connection: close and the socket closes', async (t) => {
    const c = await s.client();
    await c.write(get('/len', [], 'GET', '1.0'));
    const r = await c.response();
    t.equal(r.body.toString(), 'hello');
    t.equal(field(r, 'connection'), 'close');
    await c.waitClosed();
  });

  t.test('with Connection: keep-alive and a Content-Length response: stays open', async (t) => {
    const c = await s.client();
    for (let i = 0; i < 2; i++) {
      await c.write(get('/len', ['Connection: keep-alive'], 'GET', '1.0'));
      const r = await c.response();
      t.equal(r.framing, 'length');
      t.equal(r.body.toString(), 'hello');
      t.equal(field(r, 'connection'), 'keep-alive');
    }
    t.notOk(c.ended || c.closed, 'still open');
  });

  t.test('with keep-alive but a response without length: close-delimited, no chunking', async (t) => {
    const c = await s.client();
    await c.write(get('/nolen', ['Connection: keep-alive'], 'GET', '1.0'));
    await c.waitClosed();
    const r = await c.response();
    t.equal(r.framing, 'close');
    t.equal(field(r, 'transfer-encoding'), undefined);
    t.equal(field(r, 'connection'), 'close');
    t.equal(r.body.toString(), 'hello');
  });

  t.test('with TE: chunked the response without length is chunked', async (t) => {
    const c = await s.client();
    await c.write(get('/nolen', ['Connection: keep-alive', 'TE: chunked'], 'GET', '1.0'));
    const r = await c.response();
    t.equal(r.framing, 'chunked');
    t.equal(r.body.toString(), 'hello');
    t.equal(field(r, 'connection'), 'keep-alive');
  });
});

t.test('HTTP/1.1 response without length is chunked and keeps the connection', async (t) => {
  const s = await startH1(t, framingHandler);
  const c = await s.client();
  await c.write(get('/nolen'));
  const r = await c.response();
  t.equal(r.framing, 'chunked');
  t.equal(field(r, 'transfer-encoding'), 'chunked');
  t.equal(r.body.toString(), 'hello');
  t.ok(r.raw.endsWith('3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n'), 'one chunk per write, then the last chunk');
  t.notOk(await closesAfter(c), 'the connection is reused');
});

t.test('end(body) without writeHead sets Content-Length', async (t) => {
  const s = await startH1(t, framingHandler);
  const c = await s.client();
  await c.write(get('/implicit'));
  const r = await c.response();
  t.equal(r.framing, 'length');
  t.equal(field(r, 'content-length'), '5');
  t.equal(r.body.toString(), 'hello');
});

t.test('end(body) without writeHead keeps an HTTP/1.0 keep-alive connection (node:http would close-delimit)', async (t) => {
  const s = await startH1(t, framingHandler);
  const c = await s.client();
  await c.write(get('/implicit', ['Connection: keep-alive'], 'GET', '1.0'));
  const r = await c.response();
  t.equal(r.framing, 'length');
  t.equal(r.body.toString(), 'hello');
  t.equal(field(r, 'connection'), 'keep-alive');
  t.notOk(await closesAfter(c));
});

t.test('statusCode 204/304 then end(): no Content-Length, no body (as node:http)', async (t) => {
  const handler = (req: Http1Request | http.IncomingMessage, res: Http1Response | http.ServerResponse): void => {
    const status = Number(req.url?.slice(1));
    res.statusCode = Number.isInteger(status) ? status : 200;
    res.end();
  };
  const ours = await startH1(t, handler);
  const node = await startNode(t, handler);
  for (const status of [204, 304]) {
    const got: Array<Record<string, unknown>> = [];
    for (const target of [ours, node]) {
      const c = await target.client();
      await c.write(get(`/${status}`));
      const r = await c.response();
      t.equal(r.status, status);
      got.push(summary(r, await closesAfter(c)));
    }
    t.same(got[0], got[1], `${status} agrees with node:http`);
    t.equal(got[0].contentLength, undefined, `${status}: no Content-Length`);
  }
});

t.test('HEAD, 204 and 304 carry no body, and the connection is reused after them', async (t) => {
  const s = await startH1(t, framingHandler);
  const c = await s.client();

  await c.write(get('/len', [], 'HEAD'));
  let r = await c.response(true);
  t.equal(field(r, 'content-length'), '5', 'HEAD keeps the length of the GET');
  await c.write(get('/nolen', [], 'HEAD'));
  r = await c.response(true);
  t.equal(field(r, 'transfer-encoding'), undefined, 'HEAD without a length: no Transfer-Encoding (as node:http)');
  for (const status of [204, 304]) {
    await c.write(get(`/s/${status}`));
    r = await c.response();
    t.equal(r.status, status);
    t.equal(field(r, 'transfer-encoding'), undefined, `${status}: no Transfer-Encoding`);
  }
  // A follow-up GET is parsed from the very next byte: a stray body or last-chunk would show here.
  await c.write(get('/len'));
  r = await c.response();
  t.equal(r.status, 200);
  t.equal(r.body.toString(), 'hello');
  t.equal(c.buf.length, 0, 'no stray bytes after any response');
  t.notOk(c.ended || c.closed);
});

t.test('HEAD response: body bytes written by the handler are dropped', async (t) => {
  const s = await startH1(t, (_req, res) => {
    res.writeHead(200, ['content-length', '11']);
    res.write('hello ');
    res.end('world');
  });
  const c = await s.client();
  await c.write(get('/', [], 'HEAD'));
  await c.response(true);
  await c.write(get('/', [], 'HEAD'));
  await c.response(true);
  t.equal(c.buf.length, 0, 'nothing after the heads');
});

t.test('Date is added when absent and not duplicated when given', async (t) => {
  const s = await startH1(t, framingHandler);
  const c = await s.client();
  await c.write(get('/len'));
  let r = await c.response();
  const date = field(r, 'date');
  t.ok(date !== undefined && !Number.isNaN(Date.parse(date)), 'a valid HTTP date');
  t.match(date, /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  await c.write(get('/date'));
  r = await c.response();
  t.same(fieldValues(r, 'date'), ['Mon, 01 Jan 2024 00:00:00 GMT'], 'one Date: the handler\'s');
});

t.test('Keep-Alive: timeout=N follows the server timeout; a handler Keep-Alive field is not doubled', async (t) => {
  const s = await startH1(t, (req, res) => {
    res.writeHead(200, req.url === '/own' ? ['Keep-Alive', 'timeout=99', 'content-length', '0'] : ['content-length', '0']);
    res.end();
  }, { keepAliveTimeoutMs: 12_500 });
  const c = await s.client();
  await c.write(get('/'));
  let r = await c.response();
  t.equal(field(r, 'keep-alive'), 'timeout=12');
  await c.write(get('/own'));
  r = await c.response();
  t.same(fieldValues(r, 'keep-alive'), ['timeout=99']);
});

t.test('trailers on a chunked response', async (t) => {
  const s = await startH1(t, (_req, res) => {
    res.writeHead(200, ['Trailer', 'x-checksum, x-count']);
    res.write('abc');
    res.addTrailers({ 'x-checksum': 'deadbeef' });
    res.addTrailers({ 'x-count': '3' });
    res.end('def');
  });
  const c = await s.client();
  await c.write(get('/'));
  const r = await c.response();
  t.equal(r.framing, 'chunked');
  t.equal(r.body.toString(), 'abcdef');
  t.same(r.trailers, [['x-checksum', 'deadbeef'], ['x-count', '3']]);
  t.ok(r.raw.endsWith('0\r\nx-checksum: deadbeef\r\nx-count: 3\r\n\r\n'));
  await c.write(get('/'));
  t.equal((await c.response()).body.toString(), 'abcdef', 'the connection is reused after the trailers');
});

t.test('addTrailers refuses invalid names and values', async (t) => {
  let thrown: unknown[] = [];
  const s = await startH1(t, (_req, res) => {
    thrown = [];
    for (const bad of [{ 'bad name': 'x' }, { ok: 'a\r\nb' }]) {
      try {
        res.addTrailers(bad);
      } catch (err) {
        thrown.push(err);
      }
    }
    res.writeHead(200);
    res.end('x');
  });
  const c = await s.client();
  await c.write(get('/'));
  const r = await c.response();
  t.equal(thrown.length, 2);
  t.same(r.trailers, [], 'nothing invalid reached the wire');
});

t.test('writeHead validation throws before anything is written, and a 502 can still be sent', async (t) => {
  const cases: Array<[string, string[], string]> = [
    ['/name-space', ['bad name', 'x'], 'ERR_INVALID_HTTP_TOKEN'],
    ['/name-empty', ['', 'x'], 'ERR_INVALID_HTTP_TOKEN'],
    ['/name-colon', ['a:b', 'x'], 'ERR_INVALID_HTTP_TOKEN'],
    ['/value-crlf', ['x-a', 'a\r\nx-injected: 1'], 'ERR_INVALID_CHAR'],
    ['/value-nul', ['x-a', 'a\0b'], 'ERR_INVALID_CHAR'],
    ['/value-nonlatin1', ['x-a', 'caf\u20ac'], 'ERR_INVALID_CHAR'],
    ['/odd', ['x-a'], 'ERR_INVALID_ARG_VALUE'],
    // The invalid field comes after framing fields: nothing of the refused head may leak into the 502.
    ['/after-te', ['transfer-encoding', 'chunked', 'connection', 'close', 'bad name', 'x'], 'ERR_INVALID_HTTP_TOKEN'],
  ];
  const seen = new Map<string, unknown>();
  const s = await startH1(t, (req, res) => {
    const entry = cases.find(([u]) => u === req.url)!;
    try {
      res.writeHead(200, entry[1]);
      seen.set(req.url, 'no throw');
    } catch (err) {
      seen.set(req.url, err);
    }
    t.notOk(res.headersSent, `${req.url}: headers not marked sent`);
    res.writeHead(502, ['content-type', 'text/plain', 'content-length', '4']);
    res.end('bad\n');
  });
  const c = await s.client();
  for (const [url, , code] of cases) {
    await c.write(get(url));
    const r = await c.response();
    const err = seen.get(url);
    t.ok(err instanceof ResponseHeadError, `${url}: throws a ResponseHeadError`);
    t.equal((err as ResponseHeadError).code, code, `${url}: code`);
    t.equal(r.status, 502, `${url}: the 502 went out`);
    t.equal(r.framing, 'length', `${url}: framed by its Content-Length`);
    t.equal(r.body.toString(), 'bad\n');
    t.equal(field(r, 'x-a'), undefined);
    t.equal(field(r, 'x-injected'), undefined);
    t.equal(field(r, 'connection'), 'keep-alive', `${url}: the refused head's Connection does not count`);
  }
  // Every response was framed right, so the connection is still in step.
  await c.write(get('/odd'));
  t.equal((await c.response()).status, 502);
  t.equal(c.buf.length, 0);
});

t.test('writeHead twice throws; invalid status codes throw', async (t) => {
  const errors: string[] = [];
  const s = await startH1(t, (_req, res) => {
    for (const status of [99, 1000, 200.5]) {
      try {
        res.writeHead(status);
      } catch (err) {
        errors.push((err as ResponseHeadError).code);
      }
    }
    res.writeHead(200, ['content-length', '0']);
    try {
      res.writeHead(200);
    } catch (err) {
      errors.push((err as ResponseHeadError).code);
    }
    res.end();
  });
  const c = await s.client();
  await c.write(get('/'));
  t.equal((await c.response()).status, 200);
  t.same(errors, ['ERR_HTTP_INVALID_STATUS_CODE', 'ERR_HTTP_INVALID_STATUS_CODE', 'ERR_HTTP_INVALID_STATUS_CODE', 'ERR_HTTP_HEADERS_SENT']);
});

/** The parts of a response node:http and this server must agree on: status, framing, body, hop fields, close. */
function summary(r: RawResponse, closed: boolean): Record<string, unknown> {
  return {
    status: r.status,
    framing: r.framing,
    body: r.body.toString('latin1'),
    connection: field(r, 'connection')?.toLowerCase(),
    keepAlive: field(r, 'keep-alive'),
    transferEncoding: field(r, 'transfer-encoding'),
    contentLength: field(r, 'content-length'),
    hasDate: field(r, 'date') !== undefined,
    closed,
  };
}

t.test('framing agrees with node:http across versions, Connection fields and handlers', async (t) => {
  const ours = await startH1(t, framingHandler, { keepAliveTimeoutMs: 5_000 });
  const node = await startNode(t, framingHandler, 5_000);
  const requests: Array<[string, string[], string, string]> = [];
  for (const version of ['1.1', '1.0']) {
    for (const conn of [[], ['Connection: close'], ['Connection: keep-alive'], ['Connection: keep-alive', 'TE: chunked']]) {
      // Not '/implicit': there this server sends Content-Length where node:http may not (tested above).
      for (const path of ['/len', '/nolen', '/s/204', '/s/304', '/s/200']) {
        for (const method of ['GET', 'HEAD']) requests.push([path, conn, method, version]);
      }
    }
  }
  for (const [path, conn, method, version] of requests) {
    const what = `${method} ${path} HTTP/${version} ${conn.join(' ')}`;
    const results: Array<Record<string, unknown>> = [];
    for (const target of [ours, node]) {
      const c = await target.client();
      await c.write(get(path, conn, method, version));
      const r = await c.response(method === 'HEAD');
      results.push(summary(r, await closesAfter(c)));
      c.destroy();
    }
    t.same(results[0], results[1], what);
  }
});
