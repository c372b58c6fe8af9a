/**
 * Start-up self-test for kernel splicing: a loopback echo through a real
 * splice. The client sends a known pattern, half-closes, and must get every
 * byte back in order followed by EOF; the BPF counters must show that the
 * kernel moved the bytes both ways. Only 127.0.0.1 and ephemeral ports.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { NativeStats } from './addon.js';
import type { RelayDone, RelayResult } from './pipe.js';

export interface SelfTestOptions {
  /** Bytes sent each way (default 1 MiB). */
  bytes?: number;
  timeoutMs?: number;
}

export interface SelfTestResult {
  readonly ok: boolean;
  readonly reason: string;
}

export interface SelfTestHooks {
  splice(a: net.Socket, b: net.Socket, onDone: RelayDone): boolean;
  stats(): NativeStats;
}

/** A deterministic byte pattern that does not repeat at any power-of-two period. */
export function pattern(length: number, seed = 0): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i + seed) % 251;
  return out;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

export async function runSelfTest(hooks: SelfTestHooks, options: SelfTestOptions = {}): Promise<SelfTestResult> {
  const bytes = options.bytes ?? 1 << 20;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const payload = pattern(bytes, 7);
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    return s;
  };

  const echo = net.createServer({ allowHalfOpen: true }, (s) => {
    track(s);
    s.pipe(s);
  });
  let spliceResult: Promise<RelayResult> | undefined;
  let refused = false;
  const proxy = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    track(client);
    const upstream = track(net.connect({ host: '127.0.0.1', port: echoPort, allowHalfOpen: true }));
    upstream.pause();
    upstream.once('connect', () => {
      spliceResult = new Promise((resolve) => {
        if (!hooks.splice(client, upstream, resolve)) {
          refused = true;
          client.destroy();
          upstream.destroy();
        }
      });
    });
  });

  let timer: NodeJS.Timeout | undefined;
  const before = hooks.stats();
  let echoPort = 0;
  try {
    echoPort = await listen(echo);
    const proxyPort = await listen(proxy);
    const received = await new Promise<Buffer>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no echo within ${timeoutMs} ms`)), timeoutMs);
      const client = track(net.connect({ host: '127.0.0.1', port: proxyPort, allowHalfOpen: true }));
      const chunks: Buffer[] = [];
      let length = 0;
      client.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        // Half-close only once everything came back: a FIN that reaches the
        // proxy before the splice makes the kernel refuse the socket (it
        // accepts ESTABLISHED sockets only).
        if (length >= bytes && !client.writableEnded) client.end();
      });
      client.on('end', () => resolve(Buffer.concat(chunks)));
      client.on('error', (err) => reject(refused ? new Error('splice() refused the pair') : err));
      client.on('close', () => reject(new Error(refused ? 'splice() refused the pair' : 'connection closed before EOF')));
      client.write(payload);
    });
    if (received.length !== bytes) return { ok: false, reason: `echoed ${received.length} bytes, expected ${bytes}` };
    if (!received.equals(payload)) return { ok: false, reason: `echo differs (sha256 ${sha256(received)} vs ${sha256(payload)})` };
    const after = hooks.stats();
    const aToB = (after.aToBBytes ?? 0) - (before.aToBBytes ?? 0);
    const bToA = (after.bToABytes ?? 0) - (before.bToABytes ?? 0);
    if (aToB < bytes || bToA < bytes) {
      return { ok: false, reason: `the kernel counters saw ${aToB}/${bToA} bytes of ${bytes} each way: bytes did not go through the BPF programs` };
    }
    const done = spliceResult ? await Promise.race([spliceResult, new Promise<undefined>((r) => setTimeout(r, 2000, undefined))]) : undefined;
    if (done?.error) return { ok: false, reason: `the spliced pair ended with ${done.error}` };
    return { ok: true, reason: `${bytes} bytes echoed byte for byte through the kernel` };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    if (timer) clearTimeout(timer);
    for (const s of sockets) s.destroy();
    echo.close();
    proxy.close();
  }
}
