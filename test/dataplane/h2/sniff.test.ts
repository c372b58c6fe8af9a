import net, { type Socket } from 'node:net';
import t from 'tap';
import { H2_PREFACE, routeByPreface } from '../../../src/dataplane/h2/sniff.js';

/** A loopback server that sniffs each connection; resolves with what it decided and the bytes the owner then reads. */
async function sniffOne(send: (c: Socket) => Promise<void>, timeoutMs?: number): Promise<{ decision: string; bytes: string }> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const result = new Promise<{ decision: string; bytes: string }>((resolve) => {
    server.once('connection', (socket: Socket) => {
      const collect = (decision: string) => (s: Socket): void => {
        let bytes = '';
        s.on('data', (c: Buffer) => {
          bytes += c.toString('latin1');
        });
        s.on('end', () => resolve({ decision, bytes }));
        s.resume();
      };
      socket.once('close', () => resolve({ decision: 'dropped', bytes: '' }));
      routeByPreface(socket, collect('h1'), collect('h2'), timeoutMs);
    });
  });
  const client = net.connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  await new Promise<void>((r) => client.once('connect', () => r()));
  await send(client);
  const out = await result;
  client.destroy();
  server.close();
  return out;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('HTTP/1.1 bytes go to the HTTP/1.1 side intact', async (t) => {
  const req = 'PUT /x HTTP/1.1\r\nhost: a\r\ncontent-length: 0\r\n\r\n';
  const r = await sniffOne(async (c) => { c.end(req); });
  t.equal(r.decision, 'h1');
  t.equal(r.bytes, req);
});

t.test('a preface split across writes goes to the HTTP/2 side intact', async (t) => {
  const r = await sniffOne(async (c) => {
    c.write(H2_PREFACE.subarray(0, 5));
    await pause(50);
    c.end(Buffer.concat([H2_PREFACE.subarray(5), Buffer.from('frames')]));
  });
  t.equal(r.decision, 'h2');
  t.equal(r.bytes, `${H2_PREFACE.toString('latin1')}frames`);
});

t.test('"PRI" that turns out not to be the preface is HTTP/1.x', async (t) => {
  const r = await sniffOne(async (c) => { c.end('PRI * HTTP/1.1\r\n\r\n'); });
  t.equal(r.decision, 'h1');
  t.equal(r.bytes, 'PRI * HTTP/1.1\r\n\r\n');
});

t.test('a silent client is dropped after the sniff timeout', async (t) => {
  const r = await sniffOne(async () => undefined, 100);
  t.equal(r.decision, 'dropped');
});
