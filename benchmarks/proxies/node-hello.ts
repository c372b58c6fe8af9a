/**
 * Calibration, not a proxy: node:http answering the upstream's 13-byte body itself (anchors
 * doc §3.3 "node:http hello"). It shows what one Node process can serve on the proxy core
 * before any upstream hop, i.e. the ceiling for every Node proxy in the same round.
 * It applies the benchmark route like the proxies do (see route.ts).
 *
 *   node benchmarks/proxies/node-hello.ts --listen 127.0.0.1:18006 [--host ... --prefix ... --header ...]
 */
import http from 'node:http';
import { baselineArgs } from './route.ts';

const args = baselineArgs();
const body = Buffer.from('Hello, World!');
const server = http.createServer((req, res) => {
  if (!args.matches(req)) {
    res.writeHead(404);
    res.end('not found\n');
    return;
  }
  res.writeHead(200, ['content-type', 'text/plain', 'content-length', String(body.length)]);
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(args.listenPort, args.listenHost);
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
