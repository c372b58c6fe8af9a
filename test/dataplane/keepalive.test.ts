import net from 'node:net';
import t from 'tap';
import { backend, cluster, eventually, freePort, listener, port, route, startEcho, table, testDataPlane, vhost } from './fixtures/helpers.js';

/** A raw client connection that sends `GET path` requests and reads whole responses. */
function rawClient(p: number): Promise<{ get(path: string): Promise<string>; closed: () => boolean; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(p, '127.0.0.1');
    let closed = false;
    let buf = '';
    let waiter: ((head: string) => void) | undefined;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.slice(0, end);
      let total: number;
      if (/transfer-encoding: *chunked/i.test(head)) {
        const last = buf.indexOf('\r\n0\r\n\r\n', end);
        if (last === -1) return;
        total = last + 7;
      } else {
        total = end + 4 + Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < total) return;
      }
      const msg = buf.slice(0, total);
      buf = buf.slice(total);
      waiter?.(msg);
    });
    socket.once('connect', () => resolve({
      get: (path) => new Promise<string>((res) => {
        waiter = res;
        socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      }),
      closed: () => closed,
      destroy: () => socket.destroy(),
    }));
    socket.once('error', reject);
  });
}

t.test('idle keep-alive client connections are closed by the sweep; busy and slow ones are not', async (t) => {
  const echo = await startEcho('e');
  const p = await freePort();
  const { dp } = testDataPlane({ keepAliveTimeoutMs: 1_000 });
  t.teardown(async () => {
    await dp.close();
    await echo.close();
  });
  await dp.apply(table([port(p, [listener('http', [vhost('*', [route('r', {}, { backends: [backend('e')] })])])])], [cluster('e', [echo.endpoint])]));

  const idle = await rawClient(p);
  const busy = await rawClient(p);
  const slow = await rawClient(p);
  t.teardown(() => {
    idle.destroy();
    busy.destroy();
    slow.destroy();
  });
  const first = await idle.get('/idle');
  t.match(first, /^HTTP\/1\.1 200/);
  t.match(first, /\r\nkeep-alive: timeout=1\r\n/i, 'the Keep-Alive header still advertises the idle timeout');
  // A response that takes longer than the idle timeout is not cut.
  const slowReply = slow.get('/slow?delay=3500');
  // A connection that keeps sending requests stays open past the idle timeout.
  for (let i = 0; i < 15; i++) {
    t.match(await busy.get(`/busy${i}`), /^HTTP\/1\.1 200/, `busy request ${i}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  t.notOk(busy.closed(), 'the busy connection is still open');
  await eventually(() => idle.closed(), 10_000, 'the idle connection to be closed');
  t.match(await slowReply, /^HTTP\/1\.1 200/, 'the slow response completed');
  t.notOk(slow.closed(), 'and its connection was open until then');
  await eventually(() => slow.closed(), 10_000, 'the slow connection to be closed once idle');
});
