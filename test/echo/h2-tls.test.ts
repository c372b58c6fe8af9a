import t from 'tap';
import { connect as h2connect, type IncomingHttpHeaders } from 'node:http2';
import { request as h1request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { X509Certificate } from 'node:crypto';
import WebSocket from 'ws';
import { startEcho } from '../../src/echo/index.js';
import { createDevCA } from '../../src/util/devcert.js';

const serverCA = createDevCA('echo test server CA');
const serverPair = serverCA.issue(['localhost', '127.0.0.1']);
const clientCA = createDevCA('echo test client CA');
const clientPair = clientCA.issue(['client.example'], { clientAuth: true, commonName: 'client.example' });
const strangerPair = createDevCA('someone else').issue(['stranger.example'], { clientAuth: true });

type Json = Record<string, unknown>;

function h2get(
  authority: string,
  path: string,
  connectOptions: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ headers: IncomingHttpHeaders; json: Json }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(authority, connectOptions);
    session.on('error', reject);
    const req = session.request({ ':path': path, ...headers });
    let text = '';
    let responseHeaders: IncomingHttpHeaders = {};
    req.setEncoding('utf8');
    req.on('response', (h) => (responseHeaders = h));
    req.on('data', (d: string) => (text += d));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      try {
        resolve({ headers: responseHeaders, json: JSON.parse(text) as Json });
      } catch (err) {
        reject(new Error(`not JSON (${String(responseHeaders[':status'])}): ${text}`, { cause: err }));
      }
    });
    req.end();
  });
}

function h1get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = h1request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

function httpsGet(port: number, path: string, extra: Record<string, unknown> = {}): Promise<Json> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, servername: 'localhost', ca: serverCA.certPem, agent: false, ...extra },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve(JSON.parse(text) as Json));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const FRAME = { DATA: 0, HEADERS: 1, SETTINGS: 4, GOAWAY: 7 } as const;

/**
 * A bare HTTP/1.1 -> h2c upgrade client (Node has none): sends the upgrade,
 * expects 101, speaks just enough HTTP/2 to read the response on stream 1.
 */
function h2cUpgrade(port: number, path: string): Promise<{ firstHeaderByte: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.on('error', reject);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let firstHeaderByte = -1;
    let body = '';
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: h2c.example\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n` +
        `HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\nX-Custom: upgraded\r\n\r\n`,
    );
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`no upgrade: ${head}`));
        upgraded = true;
        buf = buf.subarray(end + 4);
        socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, FRAME.SETTINGS, 0, 0, 0, 0, 0])]));
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const stream = buf.readUInt32BE(5) & 0x7fffffff;
        const payload = buf.subarray(9, 9 + len);
        buf = buf.subarray(9 + len);
        if (type === FRAME.SETTINGS && (flags & 1) === 0) socket.write(Buffer.from([0, 0, 0, FRAME.SETTINGS, 1, 0, 0, 0, 0]));
        if (type === FRAME.GOAWAY) return reject(new Error(`GOAWAY ${payload.readUInt32BE(4)}`));
        if (stream === 1 && type === FRAME.HEADERS) firstHeaderByte = payload[0]!;
        if (stream === 1 && type === FRAME.DATA) body += payload.toString('utf8');
        if (stream === 1 && (flags & 1) === 1) {
          socket.destroy();
          return resolve({ firstHeaderByte, body });
        }
      }
    });
  });
}

t.test('h2c: prior knowledge and Upgrade are HTTP/2; plain HTTP/1.1 is refused', async (t) => {
  const lines: string[] = [];
  const echo = await startEcho({ h2c: '127.0.0.1:0', name: 'h2c-pod', namespace: 'ns', log: (l) => lines.push(l) });
  t.teardown(() => echo.close());
  const port = echo.ports.h2c!;

  const prior = await h2get(`http://127.0.0.1:${port}`, '/prior?x=1', {}, { 'x-custom': 'prior' });
  t.equal(prior.headers[':status'], 200);
  t.equal(prior.json.proto, 'HTTP/2.0');
  t.equal(prior.json.path, '/prior?x=1');
  t.equal(prior.json.host, `127.0.0.1:${port}`, 'host is the :authority');
  t.same((prior.json.headers as Json)['X-Custom'], ['prior']);
  t.equal(prior.json.pod, 'h2c-pod');
  t.equal(prior.json.httpPort, String(port), 'without an http listener, httpPort is this port');

  const up = await h2cUpgrade(port, '/upgraded?y=2');
  t.equal(up.firstHeaderByte, 0x88, 'stream 1 answers :status 200 (HPACK static index 8)');
  const upJson = JSON.parse(up.body) as Json;
  t.equal(upJson.proto, 'HTTP/2.0', 'the upgraded request was served over HTTP/2');
  t.equal(upJson.path, '/upgraded?y=2');
  t.equal(upJson.host, 'h2c.example');
  t.same((upJson.headers as Json)['X-Custom'], ['upgraded']);
  t.notOk('Upgrade' in (upJson.headers as Json), 'connection-specific headers are not replayed');

  const plain = await h1get(port, '/');
  t.equal(plain.status, 400);
  t.equal(plain.text, 'Expected h2c request');
  t.ok(lines.some((l) => l.startsWith('Echoing back request made to /upgraded?y=2 to client (127.0.0.1:')), 'upgraded request logged with its client');
});

t.test('HTTPS: HTTP/1.1 and HTTP/2 with TLS details', async (t) => {
  const echo = await startEcho({ https: '127.0.0.1:0', tls: { cert: serverPair.certPem, key: serverPair.keyPem }, name: 'tls-pod', quiet: true });
  t.teardown(() => echo.close());
  const port = echo.ports.https!;
  const h1 = await httpsGet(port, '/secure');
  t.equal(h1.proto, 'HTTP/1.1');
  t.match(h1.tls, { version: 'TLSv1.3', serverName: 'localhost', cipherSuite: /^TLS_/ });
  t.notOk('peerCertificates' in (h1.tls as Json), 'no client certificate asked for');

  const h2 = await h2get(`https://localhost:${port}`, '/secure2', { ca: serverCA.certPem, host: '127.0.0.1', servername: 'localhost', port });
  t.equal(h2.json.proto, 'HTTP/2.0');
  t.match(h2.json.tls, { version: 'TLSv1.3', serverName: 'localhost', negotiatedProtocol: 'h2' });

  const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { ca: serverCA.certPem, servername: 'localhost' });
  t.teardown(() => ws.terminate());
  const echoed = await new Promise<string>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send('over tls'));
    ws.once('message', (d: Buffer) => resolve(d.toString('utf8')));
  });
  t.equal(echoed, 'over tls', 'WebSocket echo over TLS');
});

t.test('--listen with TLS serves HTTPS on that port', async (t) => {
  const echo = await startEcho({ listen: '127.0.0.1:0', tls: { cert: serverPair.certPem, key: serverPair.keyPem }, quiet: true });
  t.teardown(() => echo.close());
  const j = await httpsGet(echo.ports.https!, '/');
  t.equal((j.tls as Json).serverName, 'localhost');
});

t.test('HTTPS with a client CA: verifies a client certificate if one is given', async (t) => {
  const echo = await startEcho({
    https: '127.0.0.1:0',
    tls: { cert: serverPair.certPem, key: serverPair.keyPem, clientCa: clientCA.certPem },
    quiet: true,
  });
  t.teardown(() => echo.close());
  const port = echo.ports.https!;

  const withCert = await httpsGet(port, '/mtls', { cert: clientPair.certPem, key: clientPair.keyPem });
  const peers = (withCert.tls as Json).peerCertificates as string[];
  t.equal(peers.length, 1);
  t.ok(new X509Certificate(peers[0]!).fingerprint256 === new X509Certificate(clientPair.certPem).fingerprint256, 'the client leaf is echoed as PEM');
  t.match(peers[0], /^-----BEGIN CERTIFICATE-----\n/);

  const without = await httpsGet(port, '/anonymous');
  t.notOk('peerCertificates' in (without.tls as Json), 'a client without a certificate is still served');

  await t.rejects(httpsGet(port, '/stranger', { cert: strangerPair.certPem, key: strangerPair.keyPem }), 'a certificate from another CA is refused');
});

t.test('an HTTPS listener without a certificate is a usage error', async (t) => {
  await t.rejects(startEcho({ https: '127.0.0.1:0', quiet: true }), { code: 'ERR_SLUICE_USAGE' });
});
