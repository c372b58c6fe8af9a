import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

/**
 * A request as the proxy reads it; the body is the Readable itself. node:http's
 * IncomingMessage, Sluice's HTTP/1.1 server (h1/request.ts) and the HTTP/2
 * adapter (h2/adapt.ts) all provide it.
 */
export interface FrontRequest extends Readable {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  /** The client's address as X-Forwarded-For shows it, when the server already knows it (else from socket). */
  readonly clientIp?: string;
  /** rawHeaders' names lower-cased, aligned with rawHeaders' name slots, when the server already has them. */
  readonly lowerHeaderNames?: readonly string[];
}

/**
 * The answer as the proxy writes it: a flat header list, body chunks, an
 * end, and 'close' (finished or abandoned) / 'drain' events. node:http's
 * ServerResponse, h1/response.ts and the HTTP/2 adapter provide it.
 */
export interface FrontResponse extends EventEmitter {
  statusCode: number;
  readonly headersSent: boolean;
  writeHead(status: number, headers: string[]): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  addTrailers(trailers: Record<string, string>): void;
  destroy(): unknown;
}
