import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { formatRemote } from './tls-info.js';

/** True for a WebSocket handshake to /ws (after echo-basic's `//` -> `/`). */
export function isWebSocketToEchoPath(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== 'websocket') return false;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).replaceAll('//', '/') === '/ws';
}

/** `/ws`: echo every message back with its type, until the client closes. */
export class WebSocketEcho {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

  constructor(private readonly log: ((line: string) => void) | null) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.log?.(`established websocket connection ${formatRemote(req.socket.remoteAddress, req.socket.remotePort)}`);
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.on('error', () => ws.terminate());
    });
  }

  close(): void {
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }
}
