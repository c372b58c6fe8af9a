import t, { type Test } from 'tap';
import { request, type IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { startEcho, type EchoServer } from '../../src/echo/index.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  text: string;
  json: Record<string, unknown> | undefined;
}

/** One HTTP/1.1 request with exact header names; body optional. */
function send(port: number, path: string, options: { method?: string; headers?: Array<[string, string]>; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: false, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const json = res.headers['content-type'] === 'application/json' ? (JSON.parse(text) as Record<string, unknown>) : undefined;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setHeader('Host', `echo.example:${port}`);
    for (const [name, value] of options.headers ?? []) req.appendHeader(name, value);
    req.end(options.body);
  });
}

async function withEcho(t: Test, extra: Parameters<typeof startEcho>[0] = {}): Promise<{ echo: EchoServer; port: number; lines: string[] }> {
  const lines: string[] = [];
  const echo = await startEcho({ listen: '127.0.0.1:0', name: 'infra-backend-v1-abc', namespace: 'gateway-conformance-infra', log: (l) => lines.push(l), ...extra });
  t.teardown(() => echo.close());
  return { echo, port: echo.ports.http!, lines };
}

t.test('echoes the request as echo-basic JSON', async (t) => {
  const { port, lines } = await withEcho(t);
  const res = await send(port, '/some/path?x=1&y=2', {
    method: 'POST',
    headers: [
      ['x-lower-case', 'a'],
      ['X-Repeated', 'one'],
      ['x-repeated', 'two'],
      ['Content-Type', 'text/plain'],
    ],
    body: 'hello body',
  });
  t.equal(res.status, 200);
  t.equal(res.headers['content-type'], 'application/json');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
  const j = res.json!;
  t.equal(j.path, '/some/path?x=1&y=2', 'path is the full request URI with the query');
  t.equal(j.host, `echo.example:${port}`);
  t.equal(j.method, 'POST');
  t.equal(j.proto, 'HTTP/1.1');
  t.equal(j.namespace, 'gateway-conformance-infra');
  t.equal(j.pod, 'infra-backend-v1-abc');
  t.equal(j.httpPort, String(port));
  t.equal(j.ingress, '');
  t.equal(j.service, '');
  t.notOk('tls' in j, 'no tls object on plain HTTP');
  const headers = j.headers as Record<string, string[]>;
  t.same(headers['X-Lower-Case'], ['a'], 'names are Go-canonical');
  t.same(headers['X-Repeated'], ['one', 'two'], 'repeated headers become a list');
  t.same(headers['Content-Length'], ['10']);
  t.notOk('Host' in headers, 'Host is not in the map, as in Go');
  t.equal(j.bodyLength, 10);
  t.equal(j.body, 'hello body', 'the whole request body was consumed and is reported');
  t.same(Object.keys(headers), [...Object.keys(headers)].sort(), 'keys sorted as Go marshals maps');
  t.ok(lines.some((l) => /^Echoing back request made to \/some\/path\?x=1&y=2 to client \(127\.0\.0\.1:\d+\)$/.test(l)), 'log line');
  t.ok(lines.some((l) => l.startsWith('Starting server, listening on 127.0.0.1:')), 'listening line');
});

t.test('a chunked upload is read to its end', async (t) => {
  const { port } = await withEcho(t);
  const big = Buffer.alloc(300_000, 'a');
  const res = await send(port, '/upload', { method: 'PUT', headers: [['Transfer-Encoding', 'chunked']], body: big });
  t.equal(res.status, 200);
  t.equal(res.json!.bodyLength, big.length);
  t.notOk('body' in res.json!, 'large bodies are counted, not echoed');
  t.notOk('Transfer-Encoding' in (res.json!.headers as object), 'Transfer-Encoding is not in the map, as in Go');
});

t.test('X-Echo-Set-Header is copied into the response', async (t) => {
  const { port } = await withEcho(t);
  const res = await send(port, '/', {
    headers: [
      ['X-Echo-Set-Header', 'X-Foo: bar, x-lower:baz'],
      ['X-Echo-Set-Header', 'X-Foo:again'],
    ],
  });
  t.equal(res.headers['x-foo'], 'bar,again', 'a repeated name appends');
  t.equal(res.headers['x-lower'], 'baz');
  const raw = res.rawHeaders.filter((_, i) => i % 2 === 0);
  t.ok(raw.includes('x-lower'), 'the requested case is kept on the wire');
  t.equal(res.headers['content-type'], 'application/json', 'echo still answers JSON');
});

t.test('/status/NNN answers that status', async (t) => {
  const { port, lines } = await withEcho(t);
  t.equal((await send(port, '/status/418')).status, 418);
  t.equal((await send(port, '/status/503')).status, 503);
  t.equal((await send(port, '/status/20')).status, 400, 'not three digits');
  t.equal((await send(port, '/status/200?x=1')).status, 400, 'upstream matches the whole request URI');
  t.equal((await send(port, '/health')).text, 'OK');
  t.notOk(lines.some((l) => l.includes('/status/')), 'status answers are not echoes');
});

t.test('?delay= waits before answering; a bad duration is a 500 with a message', async (t) => {
  const { port } = await withEcho(t);
  const started = Date.now();
  const ok = await send(port, '/slow?delay=300ms');
  t.equal(ok.status, 200);
  t.ok(Date.now() - started >= 290, 'the answer came after the delay');
  const bad = await send(port, '/slow?delay=soon');
  t.equal(bad.status, 500);
  t.match(bad.json, { message: 'time: invalid duration "soon"' });
});

t.test('/retry/ fails until succeedAfter attempts were made for the uuid', async (t) => {
  const { port } = await withEcho(t);
  const uuid = randomUUID();
  const q = `/retry/code-500?uuid=${uuid}&succeedAfter=2&responseCode=503`;
  t.equal((await send(port, q)).status, 503, 'attempt 1 fails');
  t.equal((await send(port, q)).status, 503, 'attempt 2 fails');
  const third = await send(port, q);
  t.equal(third.status, 200, 'attempt 3 succeeds');
  t.equal(third.json!.path, q);
  t.equal((await send(port, q)).status, 200, 'and keeps succeeding');
  const other = `/retry/?uuid=${randomUUID()}&succeedAfter=1&responseCode=500`;
  t.equal((await send(port, other)).status, 500, 'another uuid counts on its own');
  t.equal((await send(port, other)).status, 200);
  t.equal((await send(port, '/retry/?succeedAfter=1')).status, 400, 'uuid required');
  t.equal((await send(port, `/retry/?uuid=${uuid}`)).status, 400, 'succeedAfter required');
  const reset = `/retry/?uuid=${randomUUID()}&succeedAfter=1`;
  await t.rejects(send(port, reset), { code: 'ECONNRESET' }, 'without responseCode the connection is reset');
  t.equal((await send(port, reset)).status, 200);
});

t.test('retry memory is bounded', async (t) => {
  const { port } = await withEcho(t, { retryLimit: 3 });
  const first = `/retry/?uuid=first&succeedAfter=1&responseCode=500`;
  t.equal((await send(port, first)).status, 500);
  for (const id of ['a', 'b', 'c']) await send(port, `/retry/?uuid=${id}&succeedAfter=1&responseCode=500`);
  t.equal((await send(port, first)).status, 500, 'the oldest uuid was forgotten, so it fails again');
});

t.test('/ws echoes WebSocket messages', async (t) => {
  const { port, lines } = await withEcho(t);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const got: Array<[string, boolean]> = [];
  const two = new Promise<void>((resolve) =>
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      got.push([data.toString('utf8'), isBinary]);
      if (got.length === 2) resolve();
    }),
  );
  ws.send('hello');
  ws.send(Buffer.from('bin'), { binary: true });
  await two;
  t.same(got, [
    ['hello', false],
    ['bin', true],
  ]);
  ws.close();
  t.ok(lines.some((l) => l.startsWith('established websocket connection 127.0.0.1:')));
  const plain = await send(port, '/ws');
  t.equal(plain.status, 400, 'a plain request to /ws is refused');
  const other = await send(port, '/not-ws', { headers: [['Connection', 'Upgrade'], ['Upgrade', 'websocket']] });
  t.equal(other.status, 200, 'an Upgrade elsewhere is just echoed');
  t.equal(other.json!.path, '/not-ws');
});

t.test('close() ends idle keep-alive connections and pending delays', async (t) => {
  const echo = await startEcho({ listen: '127.0.0.1:0', quiet: true });
  const port = echo.ports.http!;
  const pending = send(port, '/?delay=1h').then(
    () => 'answered',
    () => 'dropped',
  );
  await new Promise((r) => setTimeout(r, 50));
  await echo.close();
  t.equal(await pending, 'dropped');
  await t.rejects(send(port, '/'), { code: 'ECONNREFUSED' }, 'nothing listens after close');
});

t.test('a port in use is a ListenError', async (t) => {
  const { port } = await withEcho(t);
  await t.rejects(startEcho({ listen: `127.0.0.1:${port}`, quiet: true }), { code: 'ERR_SLUICE_LISTEN' });
});
