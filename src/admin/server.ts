import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../util/hostport.js';

/** What the admin endpoints read; the runner owns it. */
export interface AdminState {
  /** False while draining or before the first config was applied. */
  ready(): { ready: boolean; reasons: readonly string[] };
  /** JSON-able dump: route table, statuses, diagnostics, load errors. */
  configDump(): unknown;
}

export interface AdminServer {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startAdminServer(listen: string, state: AdminState, registry: Registry): Promise<AdminServer> {
  const { host, port } = parseHostPort(listen, 'admin');
  const server: Server = createServer((req, res) => {
    handle(req, res, state, registry).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  return {
    address: addr.address,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, state: AdminState, registry: Registry): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz':
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    case '/readyz': {
      const r = state.ready();
      res.writeHead(r.ready ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(r.ready ? 'ready\n' : `not ready:\n${r.reasons.map((x) => `- ${x}\n`).join('')}`);
      return;
    }
    case '/metrics': {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      return;
    }
    case '/config_dump':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.configDump(), redactKeys, 2));
      return;
    default:
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}

/** Private keys never leave the process, not even through the admin port. */
function redactKeys(key: string, value: unknown): unknown {
  return key === 'keyPem' ? '<redacted>' : value;
}
