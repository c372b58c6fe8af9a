import net from 'node:net';
import t from 'tap';
import { writeDirect } from '../../../src/dataplane/h1/direct-write.js';

/** A connected pair on loopback: `client` writes, `server` is the accepted side (paused until read). */
async function pair(): Promise<{ client: net.Socket; server: net.Socket; close(): void }> {
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const server = await accepted;
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

function readAll(socket: net.Socket, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let n = 0;
    const timer = setTimeout(() => reject(new Error(`only ${n} of ${bytes} bytes arrived`)), 10_000);
    socket.on('data', (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n >= bytes) {
        clearTimeout(timer);
        resolve(Buffer.concat(parts));
      }
    });
    socket.resume();
  });
}

t.test('direct writes and socket.write interleave in order', async (t) => {
  const { client, server, close } = await pair();
  t.teardown(close);
  const expected: string[] = [];
  for (let i = 0; i < 200; i++) {
    const text = `line ${i}\n`;
    expected.push(text);
    if (i % 3 === 0) client.write(text);
    else if (i % 3 === 1) t.ok(writeDirect(client, text), `direct string ${i}`);
    else t.ok(writeDirect(client, Buffer.from(text)), `direct buffer ${i}`);
  }
  const got = await readAll(server, Buffer.byteLength(expected.join('')));
  t.equal(got.toString(), expected.join(''), 'every byte, in the order written');
});

t.test('a peer that does not read: queued writes keep their order and all arrive once it reads', async (t) => {
  const { client, server, close } = await pair();
  t.teardown(close);
  // Far more than the socket buffers hold, so writes go asynchronous and then queue in net.Socket.
  const chunk = Buffer.alloc(256 * 1024);
  const total = 40;
  for (let i = 0; i < total; i++) {
    chunk.fill(i);
    const copy = Buffer.from(chunk);
    if (i % 2 === 0) writeDirect(client, copy);
    else client.write(copy);
  }
  t.ok(client.writableLength > 0, 'net.Socket took over once libuv held a write');
  const got = await readAll(server, total * chunk.length);
  let ordered = true;
  for (let i = 0; i < total; i++) {
    if (got[i * chunk.length] !== i || got[(i + 1) * chunk.length - 1] !== i) ordered = false;
  }
  t.ok(ordered, 'chunks arrive whole and in order');
});

t.test('a destroyed socket is not written', async (t) => {
  const { client, close } = await pair();
  t.teardown(close);
  client.destroy();
  t.equal(writeDirect(client, 'x'), false);
});
