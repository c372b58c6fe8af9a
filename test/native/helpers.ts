/**
 * Test fixtures for kernel splicing: servers on 127.0.0.1, a splicing proxy,
 * pattern streams with running checksums, and the loud root/probe gate.
 */
import { createHash, type Hash } from 'node:crypto';
import net from 'node:net';
import { once } from 'node:events';
import { probe } from '../../src/native/addon.js';
import { relay, type RelayResult, type SpliceEngine } from '../../src/native/splice.js';

/** Why the kernel tests cannot run here, or null. Prints a loud banner when skipping. */
export function kernelSkipReason(): string | null {
  let reason: string | null = null;
  if (process.getuid?.() !== 0) reason = 'not running as root (kernel splice tests need CAP_BPF + CAP_NET_ADMIN)';
  else {
    const p = probe();
    if (!p.ok) reason = `probe() says splicing is unavailable: ${p.reason}`;
  }
  if (reason) {
    const line = '!'.repeat(100);
    process.stderr.write(`\n${line}\n!!! SKIPPING KERNEL SPLICE TESTS: ${reason}\n${line}\n\n`);
  }
  return reason;
}

export function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Closes a server and destroys the sockets it accepted. */
export function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** A server whose connection handler gets each accepted socket. */
export async function startServer(handler: (s: net.Socket) => void): Promise<{ port: number; close: () => Promise<void>; sockets: Set<net.Socket> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    handler(s);
  });
  const port = await listen(server);
  return { port, close: closer(server, sockets), sockets };
}

/** Userspace echo: every byte back, EOF after EOF. */
export function startEcho() {
  return startServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
}

export interface ProxyConnection {
  path: 'kernel' | 'userspace';
  result: Promise<RelayResult>;
}

/**
 * An L4 proxy as the data plane would build it: accepts paused, connects the
 * upstream paused, then relay() (splice, or pipe when refused).
 */
export async function startProxy(engine: SpliceEngine | undefined, upstreamPort: number, options: { delayMs?: number } = {}) {
  const connections: ProxyConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on('error', () => {});
    const start = () => {
      const upstream = net.connect({ host: '127.0.0.1', port: upstreamPort, allowHalfOpen: true });
      sockets.add(upstream);
      upstream.on('error', () => {});
      upstream.pause();
      upstream.once('connect', () => {
        let resolve!: (r: RelayResult) => void;
        const result = new Promise<RelayResult>((r) => (resolve = r));
        const path = relay(engine, client, upstream, resolve);
        connections.push({ path, result });
      });
    };
    if (options.delayMs) setTimeout(start, options.delayMs);
    else start();
  });
  const port = await listen(server);
  return { port, connections, close: closer(server, sockets) };
}

/** A byte pattern with period 251 that is cheap to slice at any offset. */
const PERIOD = 251;
const CHUNK = 1 << 20;
const big = Buffer.alloc(CHUNK + PERIOD);
for (let i = 0; i < big.length; i++) big[i] = i % PERIOD;

/** Chunk i of a stream: a 1 MiB window of the pattern at an offset that changes with i and the seed. */
export function chunkAt(i: number, seed: number, length = CHUNK): Buffer {
  return big.subarray((i * 97 + seed) % PERIOD, ((i * 97 + seed) % PERIOD) + length);
}

/** The whole stream as one buffer (small sizes only). */
export function streamBytes(total: number, seed: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0, left = total; left > 0; i++, left -= CHUNK) parts.push(chunkAt(i, seed, Math.min(CHUNK, left)));
  return Buffer.concat(parts);
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `total` pattern bytes with backpressure, then optionally ends; resolves with their sha256. */
export async function writeStream(socket: net.Socket, total: number, seed: number, end = true): Promise<string> {
  const hash = createHash('sha256');
  for (let i = 0, left = total; left > 0; i++, left -= CHUNK) {
    const chunk = chunkAt(i, seed, Math.min(CHUNK, left));
    hash.update(chunk);
    if (socket.destroyed) throw new Error('socket destroyed while writing');
    if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), once(socket, 'close')]);
  }
  if (end) socket.end();
  return hash.digest('hex');
}

/** Counts and hashes everything until EOF. */
export function readAll(socket: net.Socket): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash: Hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      hash.update(chunk);
    });
    socket.once('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`closed before EOF after ${bytes} bytes`)));
  });
}

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with the error code a socket closes with ('' for a clean close). */
export function closeCode(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let code = '';
    socket.on('error', (err: NodeJS.ErrnoException) => (code ||= err.code ?? 'error'));
    socket.resume();
    if (socket.destroyed) resolve(code);
    else socket.once('close', () => resolve(code));
  });
}

/** Polls until `check` is true (bounded). */
export async function waitFor(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
