import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import t from 'tap';
import { parseClientHello } from '../../../src/dataplane/l4/clienthello.js';

/** The first flight of a real Node TLS client (the ClientHello), captured by a server that never answers. */
async function captureHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const client = tls.connect({ host: '127.0.0.1', port, ...options });
  client.on('error', () => undefined);
  await new Promise((r) => setTimeout(r, 200));
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  server.unref();
  return Buffer.concat(chunks);
}

/** Re-cut the handshake bytes of one record into records of at most `size` bytes. */
function refragment(hello: Buffer, sizes: (i: number) => number): Buffer {
  const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
  const out: Buffer[] = [];
  let i = 0;
  for (let off = 0; off < body.length; i++) {
    const n = Math.max(1, Math.min(sizes(i), body.length - off));
    const header = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    header.writeUInt16BE(n, 3);
    out.push(header, body.subarray(off, off + n));
    off += n;
  }
  return Buffer.concat(out);
}

const tls13 = await captureHello({ servername: 'Sub.Example.COM' });
const tls12 = await captureHello({ servername: 'legacy.example.com', maxVersion: 'TLSv1.2' });
const noSni = await captureHello({});

t.test('real ClientHellos: SNI lower-cased; absent when the client sends none', async (t) => {
  t.same(parseClientHello(tls13), { status: 'ok', sni: 'sub.example.com' });
  t.same(parseClientHello(tls12), { status: 'ok', sni: 'legacy.example.com' });
  t.same(parseClientHello(noSni), { status: 'ok', sni: undefined });
});

t.test('every proper prefix is incomplete', async (t) => {
  let wrong = 0;
  for (let n = 0; n < tls13.length; n++) if (parseClientHello(tls13.subarray(0, n)).status !== 'incomplete') wrong++;
  t.equal(wrong, 0, `${tls13.length} prefixes`);
});

t.test('a ClientHello split over many TLS records is reassembled', async (t) => {
  const split = refragment(tls13, () => 100);
  t.ok(split.length > tls13.length, 'more record headers');
  t.same(parseClientHello(split), { status: 'ok', sni: 'sub.example.com' });
  let wrong = 0;
  for (let n = 0; n < split.length; n++) if (parseClientHello(split.subarray(0, n)).status !== 'incomplete') wrong++;
  t.equal(wrong, 0, 'its prefixes are incomplete too');
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 30 }), (sizes) => {
    const r = parseClientHello(refragment(tls12, (i) => sizes[i % sizes.length]));
    return r.status === 'ok' && r.sni === 'legacy.example.com';
  }), { numRuns: 200 });
});

t.test('not a ClientHello, or too big: invalid', async (t) => {
  t.match(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')), { status: 'invalid' }, 'plaintext HTTP');
  t.match(parseClientHello(Buffer.from([0x80, 0x2e, 0x01, 0x03, 0x01])), { status: 'invalid' }, 'SSLv2-style hello');
  const serverHello = Buffer.from(tls13);
  serverHello[5] = 0x02;
  t.match(parseClientHello(serverHello), { status: 'invalid', reason: /not a ClientHello/ });
  t.match(parseClientHello(serverHello.subarray(0, 6)), { status: 'invalid' }, 'known from the first handshake byte');
  const interleaved = Buffer.concat([refragment(tls13, () => 50).subarray(0, 55), Buffer.from([0x17, 0x03, 0x03, 0x00, 0x01, 0x00])]);
  t.match(parseClientHello(interleaved), { status: 'invalid', reason: /interleaved/ });
  t.match(parseClientHello(tls13, 100), { status: 'invalid', reason: /larger than allowed/ });
  const corrupt = Buffer.from(tls13);
  corrupt.writeUInt16BE(0xffff, 5 + 4 + 34 + 1 + corrupt[5 + 4 + 34]);
  t.match(parseClientHello(corrupt), { status: 'invalid' }, 'cipher suite length past the end');
});
