/** One-shot HTTP requests for readiness polling and for checking that routing really applies. */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Reply {
  readonly status: number;
  readonly body: string;
}

export function httpGet(
  port: number,
  path: string,
  headers: Record<string, string>,
  host = '127.0.0.1',
  timeoutMs = 2000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${host}:${port}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Poll until `probe` resolves true, or throw after timeoutMs with the last error. */
export async function waitUntil(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'not ready';
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready after ${timeoutMs / 1000}s: ${last}`);
}
