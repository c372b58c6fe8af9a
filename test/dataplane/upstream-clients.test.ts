import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { backend, cluster, freePort, listener, port, request, route, table, testDataPlane, vhost } from './fixtures/helpers.js';

/** A raw TCP upstream: `respond` gets each request head (and the socket) and writes whatever it wants. */
async function rawUpstream(respond: (head: string, socket: net.Socket, body: Buffer) => void): Promise<{ port: number; close(): Promise<void>; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.subarray(0, end).toString('latin1');
        const len = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const body = buf.subarray(end + 4, end + 4 + len);
        buf = buf.subarray(end + 4 + len);
        respond(head, socket, body);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

for (const client of ['undici', 'native'] as const) {
  t.test(`${client} client`, async (t) => {
    async function proxyTo(upPort: number, upstreamConnections?: number) {
      const p = await freePort();
      const { dp, log } = testDataPlane({ upstreamClient: client, ...(upstreamConnections !== undefined ? { upstreamConnections } : {}) });
      t.teardown(() => dp.close());
      await dp.apply(table([port(p, [listener('http', [vhost('*', [route('r', {}, { backends: [backend('c')] })])])])],
        [cluster('c', [{ address: '127.0.0.1', port: upPort }])]));
      return { p, log };
    }

    t.test('HEAD, chunked with trailers, informational 103, many headers', async (t) => {
      const up = await rawUpstream((head, s) => {
        const path = head.split(' ')[1];
        if (head.startsWith('HEAD')) {
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\nx-head: 1\r\n\r\n');
        } else if (path === '/chunked') {
          s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: abc\r\n\r\n');
        } else if (path === '/early-hints') {
          s.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        } else if (path === '/many') {
          let h = 'HTTP/1.1 200 OK\r\ncontent-length: 4\r\n';
          for (let i = 0; i < 60; i++) h += `x-h-${i}: v${i}\r\n`;
          s.write(`${h}\r\nmany`);
        } else {
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nplain');
        }
      });
      t.teardown(() => up.close());
      const { p } = await proxyTo(up.port);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      t.teardown(() => agent.destroy());
      const head = await request(p, '/', { method: 'HEAD', agent });
      t.equal(head.status, 200);
      t.equal(head.headers['content-length'], '1234', 'HEAD keeps content-length');
      t.equal(head.body, '');
      t.equal((await request(p, '/after-head', { agent })).body, 'plain', 'the connection is fine after a HEAD');
      const trailers = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: p, path: '/chunked', agent }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ body, trailers: res.trailers }));
        }).on('error', reject);
      });
      t.equal(trailers.body, 'hello world');
      t.equal(trailers.trailers['x-checksum'], 'abc', 'trailers pass through');
      const hints = await request(p, '/early-hints', { agent });
      t.equal(hints.status, 200);
      t.equal(hints.body, 'ok', '1xx before the final response is skipped');
      const many = await request(p, '/many', { agent });
      t.equal(many.body, 'many');
      t.equal(many.headers['x-h-0'], 'v0');
      t.equal(many.headers['x-h-59'], 'v59', 'all 60 headers arrive');
      t.equal((await request(p, '/last', { agent })).body, 'plain');
      if (client === 'native') t.equal(up.connections(), 1, 'one upstream keep-alive connection served everything');
      else t.ok(up.connections() <= 3, `undici reconnects after some of these (${up.connections()} connections)`);
    });

    t.test('keep-alive reuse, 204 and 304 without bodies, and the connection cap', async (t) => {
      let inHandler = 0;
      let maxConcurrent = 0;
      const up = await rawUpstream((head, s) => {
        const path = head.split(' ')[1];
        if (path === '/204') {
          s.write('HTTP/1.1 204 No Content\r\nx-s: 204\r\n\r\n');
        } else if (path === '/304') {
          s.write('HTTP/1.1 304 Not Modified\r\netag: "a"\r\ncontent-length: 99\r\n\r\n');
        } else if (path.startsWith('/slow')) {
          inHandler++;
          maxConcurrent = Math.max(maxConcurrent, inHandler);
          setTimeout(() => {
            inHandler--;
            s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`);
          }, 20);
        } else {
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        }
      });
      t.teardown(() => up.close());
      const { p } = await proxyTo(up.port, 2);
      for (let i = 0; i < 5; i++) t.equal((await request(p, `/seq${i}`)).body, 'ok');
      t.equal(up.connections(), 1, 'sequential requests reuse one upstream connection');
      const nc = await request(p, '/204');
      t.equal(nc.status, 204);
      t.equal(nc.headers['x-s'], '204');
      t.equal(nc.body, '');
      const nm = await request(p, '/304');
      t.equal(nm.status, 304);
      t.equal(nm.body, '', 'a 304 has no body whatever its content-length says');
      t.equal((await request(p, '/after')).body, 'ok', 'the connection is in sync after 204 and 304');
      // undici drops a connection whose 304 carried a content-length; the native client keeps it.
      if (client === 'native') t.equal(up.connections(), 1, 'still one connection');
      else t.ok(up.connections() <= 2, `undici reconnected at most once (${up.connections()} connections)`);
      const before = up.connections();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => request(p, `/slow${i}`)));
      t.same(results.map((r) => r.body), Array.from({ length: 6 }, (_, i) => `/slow${i}`), 'queued requests all complete, each with its own answer');
      t.ok(maxConcurrent <= 2, `at most upstreamConnections requests at once upstream (saw ${maxConcurrent})`);
      t.ok(up.connections() - before <= 2, `at most 2 new connections for 6 concurrent requests (${up.connections() - before})`);
    });

    t.test("the upstream's Keep-Alive timeout hint: a 1 s timeout means no reuse", async (t) => {
      const up = await rawUpstream((_head, s) => {
        s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=1\r\n\r\nok');
      });
      t.teardown(() => up.close());
      const { p } = await proxyTo(up.port);
      t.equal((await request(p, '/1')).body, 'ok');
      t.equal((await request(p, '/2')).body, 'ok');
      t.equal(up.connections(), 2, 'a connection the upstream may close within a second is not reused');
    });

    t.test('a large body to a slow client arrives intact (backpressure, no shared buffer reuse)', async (t) => {
      const size = 8 * 1024 * 1024;
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
      const up = await rawUpstream((_head, s) => {
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${size}\r\n\r\n`);
        s.write(body);
      });
      t.teardown(() => up.close());
      const { p } = await proxyTo(up.port);
      const got = await new Promise<Buffer>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: p, path: '/big', agent: false }, (res) => {
          const parts: Buffer[] = [];
          let n = 0;
          res.on('data', (d: Buffer) => {
            parts.push(d);
            // Read slowly at first so the proxy has to pause the upstream.
            if (++n <= 20) {
              res.pause();
              setTimeout(() => res.resume(), 10);
            }
          });
          res.on('end', () => resolve(Buffer.concat(parts)));
          res.on('error', reject);
        }).on('error', reject);
      });
      t.equal(got.length, size);
      t.ok(got.equals(body), 'every byte as the upstream sent it');
      t.equal((await request(p, '/after')).status, 200, 'the proxy still serves');
    });

    t.test('a streamed body is forwarded chunk by chunk, not held until the end', async (t) => {
      let sock: net.Socket | undefined;
      const up = await rawUpstream((_head, s) => {
        sock = s;
        s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n');
      });
      t.teardown(() => up.close());
      const { p } = await proxyTo(up.port);
      const got = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: p, path: '/stream', agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => {
            body += d.toString();
            // The second chunk is sent only once the first reached the client.
            if (body === 'first') sock!.write('6\r\nsecond\r\n0\r\n\r\n');
          });
          res.on('end', () => resolve(body));
        }).on('error', reject);
      });
      t.equal(got, 'firstsecond');
    });

    t.test('close-delimited body and a stale keep-alive connection', async (t) => {
      let n = 0;
      const up = await rawUpstream((head, s) => {
        n++;
        const path = head.split(' ')[1];
        if (path === '/close-delimited') {
          s.end('HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end');
        } else {
          // Keep-alive response, then the server closes the idle connection soon after.
          s.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nka');
          setTimeout(() => s.destroy(), 30);
        }
      });
      t.teardown(() => up.close());
      const { p } = await proxyTo(up.port);
      const r = await request(p, '/close-delimited');
      t.equal(r.status, 200);
      t.equal(r.body, 'until the end');
      t.equal((await request(p, '/a')).body, 'ka');
      await new Promise((r) => setTimeout(r, 100));
      const again = await request(p, '/b');
      t.equal(again.status, 200, 'a request after the upstream dropped the idle connection still succeeds');
      t.equal(again.body, 'ka');
      t.ok(n >= 3);
    });

    t.test('chunked request body and an early response before the body is sent', async (t) => {
      const up = await rawUpstream((head, s, body) => {
        const path = head.split(' ')[1];
        if (path === '/reject') {
          s.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 3\r\nconnection: close\r\n\r\nbig');
          s.end();
          return;
        }
        const chunked = /transfer-encoding: chunked/i.test(head);
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${chunked ? 7 : 8}\r\n\r\n${chunked ? 'chunked' : 'nochunk!'}`);
        void body;
      });
      t.teardown(() => up.close());
      const { p } = await proxyTo(up.port);
      // A chunked request body from the client (no content-length).
      const chunkedReply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: p, path: '/upload', method: 'POST', agent: false }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.write('part1');
        req.end('part2');
      });
      t.equal(chunkedReply.status, 200);
      t.match(chunkedReply.body, /chunked|nochunk/);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      t.teardown(() => agent.destroy());
      const early = await request(p, '/reject', { method: 'POST', body: 'x'.repeat(256 * 1024), agent });
      t.equal(early.status, 413, 'the early answer reaches the client');
      t.equal(early.body, 'big');
      const next = await request(p, '/ok', { agent });
      t.equal(next.status, 200, 'the client connection is still usable');
    });
  });
}
