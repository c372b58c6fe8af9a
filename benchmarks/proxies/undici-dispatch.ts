/**
 * The "best plain Node design" of the anchors doc (§3.2, §3.3): node:http server + an
 * undici Pool (128 connections, no pipelining) driven with `dispatch`, the handler writing
 * straight into the ServerResponse. Same route as the other proxies (see route.ts); no
 * header rewriting beyond what undici requires, no access log, no metrics. It marks how
 * far a Node proxy gets before any gateway features.
 *
 *   node benchmarks/proxies/undici-dispatch.ts --listen 127.0.0.1:18005 --upstream 127.0.0.1:18000 \
 *     --host bench.example.com --prefix /api --header x-bench=1
 */
import http from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { baselineArgs } from './route.ts';

const args = baselineArgs();
const pool = new Pool(`http://${args.upstreamHost}:${args.upstreamPort}`, { connections: 128, pipelining: 1 });

type Headers = Record<string, string | string[] | undefined>;

class Forward implements Dispatcher.DispatchHandler {
  readonly res: http.ServerResponse;

  constructor(res: http.ServerResponse) {
    this.res = res;
  }

  onRequestStart(): void {
    // Nothing to do: no timeouts or aborts in the baseline.
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Headers): void {
    const flat: string[] = [];
    for (const name in headers) {
      if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding') continue;
      const v = headers[name];
      if (typeof v === 'string') flat.push(name, v);
      else if (v !== undefined) for (const x of v) flat.push(name, x);
    }
    this.res.writeHead(status, flat);
  }

  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.res.write(chunk);
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    process.stderr.write(`upstream error: ${err.message}\n`);
    if (!this.res.headersSent) {
      this.res.writeHead(502);
      this.res.end('bad gateway\n');
    } else {
      this.res.destroy();
    }
  }
}

/** The client's raw headers minus the hop-by-hop ones undici refuses or must not forward. */
function forwardHeaders(raw: string[]): string[] {
  let hop = false;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].toLowerCase();
    if (n === 'connection' || n === 'keep-alive' || n === 'transfer-encoding' || n === 'upgrade') hop = true;
  }
  if (!hop) return raw;
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i].toLowerCase();
    if (n === 'connection' || n === 'keep-alive' || n === 'transfer-encoding' || n === 'upgrade') continue;
    out.push(raw[i], raw[i + 1]);
  }
  return out;
}

const server = http.createServer((req, res) => {
  if (!args.matches(req)) {
    res.writeHead(404);
    res.end('not found\n');
    return;
  }
  pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers: forwardHeaders(req.rawHeaders), body: null }, new Forward(res));
});
server.keepAliveTimeout = 60_000;
server.listen(args.listenPort, args.listenHost);
process.on('SIGTERM', () => {
  server.close();
  void pool.destroy();
  process.exit(0);
});
