/**
 * What the Node baseline proxies share: their command line and the benchmark route
 * (Host, Gateway API PathPrefix, one exact header), so every baseline does the same
 * routing work as Sluice, nginx and HAProxy.
 *
 *   --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT --host H --prefix /api --header name=value [--run-dir DIR]
 *
 * --run-dir is unused except as a marker on the command line (the runner reaps stale
 * processes by it).
 */
import type { IncomingMessage } from 'node:http';
import { parseArgs } from 'node:util';

export interface BaselineArgs {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly upstreamHost: string;
  readonly upstreamPort: number;
  /** True when the request is for the benchmark route. */
  readonly matches: (req: IncomingMessage) => boolean;
}

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
}

export function baselineArgs(argv: string[] = process.argv.slice(2)): BaselineArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:18004' },
      upstream: { type: 'string', default: '127.0.0.1:18000' },
      host: { type: 'string', default: 'bench.example.com' },
      prefix: { type: 'string', default: '/api' },
      header: { type: 'string', default: 'x-bench=1' },
      'run-dir': { type: 'string' },
    },
  });
  const [listenHost, listenPort] = hostPort(values.listen);
  const [upstreamHost, upstreamPort] = hostPort(values.upstream);
  const eq = values.header.indexOf('=');
  const headerName = values.header.slice(0, eq).toLowerCase();
  const headerValue = values.header.slice(eq + 1);
  const prefix = values.prefix;
  const routeHost = values.host.toLowerCase();

  /** PathPrefix semantics of the Gateway API: /api matches /api, /api/ and /api/x, not /apix. */
  const underPrefix = (url: string): boolean => {
    if (!url.startsWith(prefix)) return false;
    const next = url.charCodeAt(prefix.length);
    return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */;
  };
  const matches = (req: IncomingMessage): boolean => {
    const host = req.headers.host;
    return host !== undefined && host.toLowerCase() === routeHost && underPrefix(req.url ?? '') && req.headers[headerName] === headerValue;
  };
  return { listenHost, listenPort, upstreamHost, upstreamPort, matches };
}
