import type http from 'node:http';
import t from 'tap';
import { headersObject, type Http1Request } from '../../../src/dataplane/h1/request.js';
import type { Http1Response } from '../../../src/dataplane/h1/response.js';
import { startH1, startNode } from './fixtures/raw.js';

t.test('headersObject joins repeats as node:http does', async (t) => {
  const h = headersObject([
    'Set-Cookie', 'a=1', 'set-cookie', 'b=2',
    'Cookie', 'x=1', 'COOKIE', 'y=2',
    'Host', 'first.test', 'host', 'second.test',
    'Content-Type', 'text/plain', 'content-type', 'text/html',
    'User-Agent', 'ua1', 'user-agent', 'ua2',
    'Accept', 'text/html', 'accept', 'application/json',
    'X-Custom', 'one', 'x-custom', 'two', 'X-CUSTOM', 'three',
    'X-Empty', '',
  ]);
  t.same(h['set-cookie'], ['a=1', 'b=2'], 'set-cookie is always a list');
  t.equal(h.cookie, 'x=1; y=2', 'cookie joined with "; "');
  t.equal(h.host, 'first.test', 'singletons keep the first value');
  t.equal(h['content-type'], 'text/plain');
  t.equal(h['user-agent'], 'ua1');
  t.equal(h.accept, 'text/html, application/json', 'others joined with ", "');
  t.equal(h['x-custom'], 'one, two, three');
  t.equal(h['x-empty'], '');
  t.same(headersObject(['Set-Cookie', 'only=1'])['set-cookie'], ['only=1'], 'a single set-cookie is a list too');
  t.same(headersObject([]), {});
});

/** What a server saw of a request, in a comparable form. */
type Seen = { method: string | undefined; url: string | undefined; httpVersion: string; headers: http.IncomingHttpHeaders; rawHeaders: string[] };

t.test('request fields and headers agree with node:http for the same bytes', async (t) => {
  let ourSeen: Seen | undefined;
  let nodeSeen: Seen | undefined;
  const answer = (res: Http1Response | http.ServerResponse): void => {
    res.writeHead(200, ['content-length', '0']);
    res.end();
  };
  const ours = await startH1(t, (req: Http1Request, res) => {
    ourSeen = { method: req.method, url: req.url, httpVersion: req.httpVersion, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders] };
    answer(res);
  });
  const node = await startNode(t, (req, res) => {
    nodeSeen = { method: req.method, url: req.url, httpVersion: req.httpVersion, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders] };
    answer(res);
  });
  const singletons = ['Age', 'Authorization', 'Content-Type', 'ETag', 'Expires', 'From', 'Host', 'If-Modified-Since',
    'If-Unmodified-Since', 'Last-Modified', 'Location', 'Max-Forwards', 'Proxy-Authorization', 'Referer', 'Retry-After',
    'Server', 'User-Agent'];
  const lists = ['Accept', 'Accept-Encoding', 'Cache-Control', 'Via', 'X-Forwarded-For', 'Forwarded', 'Vary', 'Warning', 'X-Thing'];
  const lines: string[] = [];
  for (const name of [...singletons, ...lists, 'Cookie', 'Set-Cookie']) {
    lines.push(`${name}: first-${name.toLowerCase()}`, `${name.toUpperCase()}: second`, `${name.toLowerCase()}:   third  `);
  }
  lines.push('X-Empty:', 'X-Tab:\tvalue\twith tab');
  const requests = [
    `GET /p?q=1&r=%20 HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`,
    'DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n',
    'GET http://absolute.test/a/b HTTP/1.1\r\nHost: other\r\n\r\n',
    'PATCH /x HTTP/1.0\r\nHost: h\r\nContent-Length: 0\r\n\r\n',
    'PURGE /cache HTTP/1.1\r\nHost: h\r\n\r\n',
  ];
  for (const raw of requests) {
    ourSeen = undefined;
    nodeSeen = undefined;
    for (const target of [ours, node]) {
      const c = await target.client();
      await c.write(raw);
      t.equal((await c.response()).status, 200);
      c.destroy();
    }
    t.ok(ourSeen !== undefined && nodeSeen !== undefined, 'both saw the request');
    t.same(ourSeen, nodeSeen, raw.split('\r\n')[0]);
  }
});

t.test('a long head delivered in pieces (the parser reports headers before the end) is whole', async (t) => {
  let seen: Http1Request | undefined;
  const s = await startH1(t, (req, res) => {
    seen = req;
    res.writeHead(200, ['content-length', '0']);
    res.end();
  });
  const c = await s.client();
  const url = `/${'u'.repeat(3000)}`;
  const names: string[] = [];
  await c.write(`GET ${url.slice(0, 1500)}`);
  await new Promise((r) => setTimeout(r, 20));
  await c.write(`${url.slice(1500)} HTTP/1.1\r\nHost: test\r\n`);
  for (let i = 0; i < 60; i++) {
    names.push(`x-h${i}`);
    await c.write(`X-H${i}: ${'v'.repeat(100)}${i}\r\n`);
  }
  await c.write('\r\n');
  t.equal((await c.response()).status, 200);
  t.equal(seen?.url, url, 'the whole URL');
  t.equal(seen?.rawHeaders.length, 2 * 61, 'every header line');
  for (let i = 0; i < 60; i++) t.equal(seen?.headers[`x-h${i}`], `${'v'.repeat(100)}${i}`);
});

t.test('announcesBody and shouldKeepAlive', async (t) => {
  const seen: Array<[string, boolean, boolean]> = [];
  const s = await startH1(t, (req, res) => {
    seen.push([req.url, req.announcesBody, req.shouldKeepAlive]);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, ['content-length', '0']);
      res.end();
    });
  });
  const c = await s.client();
  await c.write('POST /cl HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nab');
  await c.response();
  await c.write('POST /zero HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n');
  await c.response();
  await c.write('POST /te HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  await c.response();
  await c.write('GET /close HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
  await c.response();
  t.same(seen, [['/cl', true, true], ['/zero', false, true], ['/te', true, true], ['/close', false, false]]);
});
