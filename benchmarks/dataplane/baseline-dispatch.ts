/**
 * The floor for a node:http + undici design: a proxy with no routing at all,
 * one Pool, dispatch with a handler writing straight into the response.
 * Sluice's overhead is the difference between it and this.
 *
 *   node benchmarks/dataplane/baseline-dispatch.ts --listen 127.0.0.1:8091 --upstream 127.0.0.1:9000
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';

const { values } = parseArgs({ options: { listen: { type: 'string', default: '127.0.0.1:8091' }, upstream: { type: 'string', default: '127.0.0.1:9000' } } });
const [host, port] = [values.listen.slice(0, values.listen.lastIndexOf(':')), Number(values.listen.slice(values.listen.lastIndexOf(':') + 1))];
const pool = new Pool(`http://${values.upstream}`, { connections: 1024, pipelining: 1, allowH2: false });

class Handler implements Dispatcher.DispatchHandler {
  readonly res: http.ServerResponse;
  constructor(res: http.ServerResponse) {
    this.res = res;
  }
  onRequestStart(): void {}
  onResponseStart(_c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    const out: string[] = [];
    for (const k in headers) if (k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding') out.push(k, String(headers[k]));
    this.res.writeHead(status, out);
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.res.write(chunk);
  }
  onResponseEnd(): void {
    this.res.end();
  }
  onResponseError(): void {
    this.res.statusCode = 502;
    this.res.end();
  }
}

http.createServer((req, res) => {
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (k !== 'connection' && k !== 'keep-alive') headers.push(raw[i], raw[i + 1]);
  }
  pool.dispatch({ path: req.url ?? '/', method: req.method ?? 'GET', headers, body: null }, new Handler(res));
}).listen(port, host);
