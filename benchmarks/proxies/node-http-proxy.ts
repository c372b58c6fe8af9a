/**
 * The node-http-proxy baseline: node:http server + the `http-proxy` package with a
 * keep-alive agent (maxSockets 128), as in the anchors doc §3.2. It applies the same route
 * as the other proxies (host, path prefix, one header) and answers 404 otherwise.
 *
 *   node benchmarks/proxies/node-http-proxy.ts --listen 127.0.0.1:18004 --upstream 127.0.0.1:18000 \
 *     --host bench.example.com --prefix /api --header x-bench=1 [--run-dir DIR]
 *
 * --run-dir is unused except as a marker on the command line (the runner reaps stale
 * processes by it).
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import httpProxy from 'http-proxy';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:18004' },
    upstream: { type: 'string', default: '127.0.0.1:18000' },
    host: { type: 'string', default: 'bench.example.com' },
    prefix: { type: 'string', default: '/api' },
    header: { type: 'string', default: 'x-bench=1' },
    'run-dir': { type: 'string' },
  },
});

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
}

const [listenHost, listenPort] = hostPort(values.listen);
const eq = values.header.indexOf('=');
const headerName = values.header.slice(0, eq).toLowerCase();
const headerValue = values.header.slice(eq + 1);
const prefix = values.prefix;
const routeHost = values.host.toLowerCase();

const agent = new http.Agent({ keepAlive: true, maxSockets: 128 });
const proxy = httpProxy.createProxyServer({ target: `http://${values.upstream}`, agent });
proxy.on('error', (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) {
    res.writeHead(502);
    res.end('bad gateway\n');
  }
});

/** PathPrefix semantics of the Gateway API: /api matches /api, /api/ and /api/x, not /apix. */
function underPrefix(url: string): boolean {
  if (!url.startsWith(prefix)) return false;
  const next = url.charCodeAt(prefix.length);
  return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */;
}

const server = http.createServer((req, res) => {
  const host = req.headers.host;
  if (
    host !== undefined &&
    host.toLowerCase() === routeHost &&
    underPrefix(req.url ?? '') &&
    req.headers[headerName] === headerValue
  ) {
    proxy.web(req, res);
    return;
  }
  res.writeHead(404);
  res.end('not found\n');
});
server.keepAliveTimeout = 60_000;
server.listen(listenPort, listenHost);
process.on('SIGTERM', () => {
  server.close();
  agent.destroy();
  process.exit(0);
});
