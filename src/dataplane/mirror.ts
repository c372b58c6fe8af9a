import { PassThrough, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Logger } from '../util/log.js';
import type { Upstream } from './upstreams.js';

/** Bytes a slow mirror may lag behind before it is dropped (the main request never waits for it). */
const MIRROR_MAX_BUFFER = 1 << 20;

/** Discards the mirror's response; errors only reach the debug log. */
class MirrorHandler implements Dispatcher.DispatchHandler {
  constructor(readonly logger: Logger, readonly label: string) {}
  onRequestStart(): void {}
  onResponseStart(): void {}
  onResponseStartRaw(): void {}
  onResponseData(): void {}
  onResponseEnd(): void {}
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.logger.debug({ upstream: this.label, err: err.message }, 'mirror request failed');
  }
}

/** Fire-and-forget copy of a request. */
export function sendMirror(ep: Upstream, method: string, path: string, headers: string[], body: Readable | null, logger: Logger): void {
  const handler = new MirrorHandler(logger, ep.label);
  try {
    if (ep.kind === 'http1') ep.dispatch({ method, path, headers, body, servername: ep.servername }, handler);
    else ep.request(method, path, headers, body, handler);
  } catch (err) {
    logger.debug({ upstream: ep.label, err: (err as Error).message }, 'mirror request failed');
  }
}

/**
 * Split a request body: `main` carries backpressure to the client, the copies
 * never do (a copy that falls more than 1 MiB behind is dropped).
 */
export function teeBody(src: Readable, copies: number): { main: PassThrough; copies: PassThrough[] } {
  const main = new PassThrough();
  const out: PassThrough[] = [];
  for (let i = 0; i < copies; i++) out.push(new PassThrough());
  src.on('data', (chunk: Buffer) => {
    for (const c of out) {
      if (c.destroyed) continue;
      if (c.writableLength > MIRROR_MAX_BUFFER) c.destroy();
      else c.write(chunk);
    }
    if (!main.write(chunk)) {
      src.pause();
      main.once('drain', () => src.resume());
    }
  });
  src.on('end', () => {
    main.end();
    for (const c of out) if (!c.destroyed) c.end();
  });
  src.on('error', (err) => {
    main.destroy(err);
    for (const c of out) c.destroy();
  });
  src.on('aborted', () => {
    const err = new Error('client aborted the request body');
    main.destroy(err);
    for (const c of out) c.destroy();
  });
  return { main, copies: out };
}
