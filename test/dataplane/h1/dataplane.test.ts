/**
 * The HTTP/1.1 server behind the data plane: the same raw exchanges through
 * a proxy on Sluice's server ('native', the default) and on node:http
 * (`httpServer: 'node'`) must look the same to the client.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { AccessLogEntry } from '../../../src/dataplane/index.js';
import type { EchoSeen } from '../fixtures/helpers.js';
import { backend, cluster, freePort, listener, port, route, startEcho, table, testDataPlane, vhost } from '../fixtures/helpers.js';
import { field, get, RawClient, type RawResponse } from './fixtures/raw.js';

type Mode = 'native' | 'node';

async function proxy(t: Tap.Test, mode: Mode): Promise<{ port: number; log: AccessLogEntry[] }> {
  const echo = await startEcho('e');
  const p = await freePort();
  const { dp, log } = testDataPlane({ httpServer: mode, keepAliveTimeoutMs: 5_000 });
  t.teardown(async () => {
    await dp.close();
    await echo.close();
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('r', {}, { backends: [backend('e')] })])])])], [cluster('e', [echo.endpoint])]));
  return { port: p, log };
}

/** What the client sees of one response, minus what legitimately varies (dates, echo details). */
function view(r: RawResponse): Record<string, unknown> {
  let echoed: Partial<EchoSeen> | undefined;
  if (r.body.length !== 0 && field(r, 'content-type') === 'application/json') {
    const e = JSON.parse(r.body.toString()) as EchoSeen;
    echoed = { method: e.method, path: e.path, body: e.body };
  }
  return {
    status: r.status,
    framing: r.framing,
    connection: field(r, 'connection')?.toLowerCase(),
    keepAlive: field(r, 'keep-alive'),
    contentLength: field(r, 'content-length'),
    echoed,
    bodyLength: r.body.length,
  };
}

/** A scenario: raw writes and reads on one connection, returning what was seen. */
type Scenario = (c: RawClient) => Promise<unknown[]>;

const big = randomBytes(3 * 1024 * 1024).toString('base64');

const scenarios: Record<string, Scenario> = {
  'keep-alive reuse, HEAD, 204, 304, then Connection: close': async (c) => {
    const out: unknown[] = [];
    await c.write(get('/a'));
    out.push(view(await c.response()));
    await c.write(get('/h', [], 'HEAD'));
    out.push(view(await c.response(true)));
    for (const s of [204, 304]) {
      await c.write(get(`/status/${s}`));
      out.push(view(await c.response()));
    }
    await c.write(get('/b', ['Connection: close']));
    out.push(view(await c.response()));
    await c.waitClosed();
    out.push('closed', c.buf.length);
    return out;
  },
  'pipelined: slow first, a POST in the middle': async (c) => {
    await c.write(get('/slow?delay=150') + 'POST /p HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello' + get('/last'));
    return [view(await c.response()), view(await c.response()), view(await c.response())];
  },
  'bodies: Content-Length, chunked, large, Expect: 100-continue': async (c) => {
    const out: unknown[] = [];
    await c.write('PUT /cl HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello world');
    out.push(view(await c.response()));
    await c.write('POST /chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    out.push(view(await c.response()));
    await c.write(`POST /big HTTP/1.1\r\nHost: test\r\nContent-Length: ${big.length}\r\n\r\n`);
    await c.write(big);
    const r = await c.response();
    out.push(view({ ...r, body: Buffer.alloc(0) }), (JSON.parse(r.body.toString()) as EchoSeen).body === big);
    await c.write('POST /expect HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
    out.push(await c.readUntil('\r\n\r\n'));
    await c.write('abc');
    out.push(view(await c.response()));
    return out;
  },
  'HTTP/1.0 keep-alive, streamed (unknown length) response: close-delimited': async (c) => {
    await c.write(get('/k', ['Connection: keep-alive'], 'GET', '1.0'));
    await c.waitClosed();
    return [view(await c.response())];
  },
  'HTTP/1.0 keep-alive, 204': async (c) => {
    await c.write(get('/status/204', ['Connection: keep-alive'], 'GET', '1.0'));
    const r = view(await c.response());
    return [r, await c.until(() => c.ended || c.closed || c.buf.length > 0 || null, 'close').catch(() => 'open')];
  },
  'HTTP/1.0 without keep-alive': async (c) => {
    await c.write(get('/plain', [], 'GET', '1.0'));
    await c.waitClosed();
    return [view(await c.response())];
  },
};

t.test('Sluice\'s server and node:http look the same to a raw client through the proxy', async (t) => {
  const targets = { native: await proxy(t, 'native'), node: await proxy(t, 'node') };
  for (const [name, scenario] of Object.entries(scenarios)) {
    const seen: Record<string, unknown> = {};
    for (const mode of ['native', 'node'] as const) {
      const c = await RawClient.connect(targets[mode].port);
      try {
        seen[mode] = await scenario(c);
      } finally {
        c.destroy();
      }
    }
    t.same(seen.native, seen.node, name);
  }
});

t.test('through the proxy on the native server: what the scenarios must show', async (t) => {
  const { port: p } = await proxy(t, 'native');
  const c = await RawClient.connect(p);
  t.teardown(() => c.destroy());
  const [a, head, s204, s304, closing] = await scenarios['keep-alive reuse, HEAD, 204, 304, then Connection: close'](c) as Array<Record<string, unknown>>;
  t.match(a, { status: 200, framing: 'chunked', connection: 'keep-alive', keepAlive: 'timeout=5', echoed: { method: 'GET', path: '/a' } });
  t.match(head, { status: 200, framing: 'none', bodyLength: 0 });
  t.match(s204, { status: 204, framing: 'none', connection: 'keep-alive' });
  t.match(s304, { status: 304, framing: 'none', connection: 'keep-alive' });
  t.match(closing, { status: 200, connection: 'close', echoed: { path: '/b' } });

  const c2 = await RawClient.connect(p);
  t.teardown(() => c2.destroy());
  const piped = await scenarios['pipelined: slow first, a POST in the middle'](c2) as Array<Record<string, unknown>>;
  t.same(piped.map((r) => (r.echoed as EchoSeen).path), ['/slow?delay=150', '/p', '/last'], 'answered in order');
  t.equal((piped[1].echoed as EchoSeen).body, 'hello');

  const c3 = await RawClient.connect(p);
  t.teardown(() => c3.destroy());
  const bodies = await scenarios['bodies: Content-Length, chunked, large, Expect: 100-continue'](c3);
  t.match(bodies[0], { echoed: { method: 'PUT', body: 'hello world' } });
  t.match(bodies[1], { echoed: { method: 'POST', body: 'hello world' } });
  t.equal(bodies[3], true, 'the large body reached the backend intact');
  t.equal(bodies[4], 'HTTP/1.1 100 Continue\r\n\r\n');
  t.match(bodies[5], { status: 200, echoed: { body: 'abc' } });
});

t.test('a malformed request pipelined after a good one: the good one is answered, then 400 and close', async (t) => {
  // (node:http mode differs here: its clientError answer 400 goes out at once and the in-flight response is lost.)
  const { port: p } = await proxy(t, 'native');
  const c = await RawClient.connect(p);
  t.teardown(() => c.destroy());
  await c.write(get('/ok') + 'NOT HTTP\r\n\r\n');
  t.match(view(await c.response()), { status: 200, echoed: { path: '/ok' } });
  t.match(view(await c.response()), { status: 400, connection: 'close' });
  await c.waitClosed();
});

t.test('client FIN while the proxy waits for the upstream: logged as 499, the connection closes', async (t) => {
  const { port: p, log } = await proxy(t, 'native');
  const c = await RawClient.connect(p);
  t.teardown(() => c.destroy());
  await c.write(get('/slow?delay=2000'));
  await new Promise((r) => setTimeout(r, 100));
  c.end();
  await c.waitClosed();
  await c.until(() => log.length === 1 || null, 'the access log entry');
  t.equal(log[0].status, 499);
  t.equal(c.buf.length, 0, 'no response was written');
});
