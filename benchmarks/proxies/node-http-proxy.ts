/**
 * The node-http-proxy baseline: node:http server + the `http-proxy` package with a
 * keep-alive agent (maxSockets 128), as in the anchors doc §3.2. Same route as the other
 * proxies (see route.ts); 404 otherwise.
 *
 *   node benchmarks/proxies/node-http-proxy.ts --listen 127.0.0.1:18004 --upstream 127.0.0.1:18000 \
 *     --host bench.example.com --prefix /api --header x-bench=1
 */
import http from 'node:http';
import httpProxy from 'http-proxy';
import { baselineArgs } from './route.ts';

const args = baselineArgs();
const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: `http://${args.upstreamHost}:${args.upstreamPort}`, agent });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502);
    res.end('bad gateway\n');
  }
});

const server = http.createServer((req, res) => {
  if (args.matches(req)) {
    proxy.web(req, res);
    return;
  }
  res.writeHead(404);
  res.end('not found\n');
});
server.keepAliveTimeout = 60_000;
server.listen(args.listenPort, args.listenHost);
process.on('SIGTERM', () => {
  server.close();
  agent.destroy();
  process.exit(0);
});
