import t from 'tap';
import { createSocket } from 'node:dgram';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { startEcho } from '../../src/echo/index.js';
import { createDevCA } from '../../src/util/devcert.js';

/** Reads a socket line by line. */
function lineReader(socket: Socket): () => Promise<string> {
  let buf = '';
  const waiting: Array<(line: string) => void> = [];
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0 && waiting.length > 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()!(line);
    }
  });
  return () =>
    new Promise((resolve) => {
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        resolve(line);
      } else {
        waiting.push(resolve);
      }
    });
}

t.test('TCP echo: banner, TEST, IS_TLS, PING; unknown lines are ignored', async (t) => {
  const echo = await startEcho({ tcp: '127.0.0.1:0', name: 'tcp-backend-1', namespace: 'gateway-conformance-infra', quiet: true });
  t.teardown(() => echo.close());
  const socket = netConnect(echo.ports.tcp!, '127.0.0.1');
  t.teardown(() => socket.destroy());
  const next = lineReader(socket);
  t.equal(await next(), 'Gateway API Test TCP Server');
  socket.write('NOISE\nPING\n');
  t.equal(await next(), 'PONG', 'unknown line ignored, PING answered');
  socket.write('IS_TLS\r\n');
  t.equal(await next(), 'false', 'CRLF lines work too');
  socket.write('TEST\n');
  const payload = JSON.parse(await next()) as Record<string, unknown>;
  t.same(payload, {
    namespace: 'gateway-conformance-infra',
    ingress: '',
    service: '',
    pod: 'tcp-backend-1',
    tcpport: String(echo.ports.tcp),
    isTLS: false,
  });
});

t.test('TCP echo behind TLS reports TLS details', async (t) => {
  const ca = createDevCA();
  const pair = ca.issue(['tcp.example']);
  const echo = await startEcho({
    tcp: '127.0.0.1:0',
    tcpTls: '127.0.0.1:0',
    tls: { cert: pair.certPem, key: pair.keyPem },
    name: 'tcp-backend-2',
    quiet: true,
  });
  t.teardown(() => echo.close());
  const socket = tlsConnect({ host: '127.0.0.1', port: echo.ports.tcpTls!, servername: 'tcp.example', ca: ca.certPem });
  t.teardown(() => socket.destroy());
  const next = lineReader(socket);
  t.equal(await next(), 'Gateway API Test TCP Server');
  socket.write('IS_TLS\n');
  t.equal(await next(), 'true');
  socket.write('TEST\n');
  const payload = JSON.parse(await next()) as Record<string, unknown>;
  t.match(payload, {
    pod: 'tcp-backend-2',
    tcpport: String(echo.ports.tcp),
    tlsport: String(echo.ports.tcpTls),
    isTLS: true,
    tls: { version: 'TLS 1.3', serverName: 'tcp.example', cipherSuite: /^TLS_/ },
  });
});

t.test('UDP echo answers each datagram with the pod identity', async (t) => {
  const lines: string[] = [];
  const echo = await startEcho({ udp: '127.0.0.1:0', name: 'udp-backend', namespace: 'gateway-conformance-infra', log: (l) => lines.push(l) });
  t.teardown(() => echo.close());
  const client = createSocket('udp4');
  t.teardown(() => client.close());
  const reply = new Promise<Record<string, unknown>>((resolve) => client.once('message', (m) => resolve(JSON.parse(m.toString('utf8')) as Record<string, unknown>)));
  client.send('hello udp', echo.ports.udp!, '127.0.0.1');
  t.same(await reply, { request: 'hello udp', namespace: 'gateway-conformance-infra', ingress: '', service: '', pod: 'udp-backend' });
  t.ok(lines.some((l) => /^Received UDP hello udp from 127\.0\.0\.1:\d+$/.test(l)));

  const long = new Promise<Record<string, unknown>>((resolve) => client.once('message', (m) => resolve(JSON.parse(m.toString('utf8')) as Record<string, unknown>)));
  client.send(Buffer.alloc(2000, 'x'), echo.ports.udp!, '127.0.0.1');
  t.equal(((await long).request as string).length, 1024, 'datagrams are read up to 1024 bytes, as upstream');
});

t.test('every listener kind in one instance, all closed together', async (t) => {
  const ca = createDevCA();
  const pair = ca.issue(['localhost']);
  const echo = await startEcho({
    http: '127.0.0.1:0',
    h2c: '127.0.0.1:0',
    https: '127.0.0.1:0',
    grpc: '127.0.0.1:0',
    tcp: '127.0.0.1:0',
    tcpTls: '127.0.0.1:0',
    udp: '127.0.0.1:0',
    tls: { cert: pair.certPem, key: pair.keyPem },
    quiet: true,
  });
  t.same(Object.keys(echo.ports).sort(), ['grpc', 'h2c', 'http', 'https', 'tcp', 'tcpTls', 'udp']);
  t.equal(echo.listeners.length, 7);
  const tcpSocket = netConnect(echo.ports.tcp!, '127.0.0.1');
  const next = lineReader(tcpSocket);
  await next();
  const closed = new Promise((resolve) => tcpSocket.once('close', resolve));
  await echo.close();
  await closed;
  t.pass('an open TCP echo connection is closed by close()');
  const refused = await new Promise<string>((resolve) => {
    const s = netConnect(echo.ports.http!, '127.0.0.1');
    s.once('connect', () => resolve('connected'));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.equal(refused, 'ECONNREFUSED');
});
