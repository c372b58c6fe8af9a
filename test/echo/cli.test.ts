import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { echoOptionsFromArgs, runEcho } from '../../src/cli/echo.js';
import { createDevCA } from '../../src/util/devcert.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

t.test('flags map to listeners; identity falls back to the pod env', async (t) => {
  const opts = echoOptionsFromArgs(['--listen', '127.0.0.1:9000', '--h2c-listen', ':9001', '--udp-listen', '[::1]:53'], {
    POD_NAME: 'p-1',
    NAMESPACE: 'ns-1',
  });
  t.not(opts, 'help');
  t.match(opts, {
    listen: { host: '127.0.0.1', port: 9000 },
    h2c: { port: 9001 },
    udp: { host: '::1', port: 53 },
    pod: 'p-1',
    namespace: 'ns-1',
  });
  t.equal((opts as { h2c: { host?: string } }).h2c.host, undefined, ':PORT means every address');
  t.match(echoOptionsFromArgs(['--listen', ':1', '--name', 'n', '--namespace', 'x'], { POD_NAME: 'env' }), { pod: 'n', namespace: 'x' });
  t.throws(() => echoOptionsFromArgs(['--listen', 'nope'], {}), { code: 'ERR_SLUICE_USAGE' });
  t.throws(() => echoOptionsFromArgs(['--https-listen', ':1'], {}), { code: 'ERR_SLUICE_USAGE' });
  t.throws(() => echoOptionsFromArgs(['--listen', ':1', '--tls-cert', '/nonexistent', '--tls-key', '/nonexistent'], {}), { code: 'ERR_SLUICE_INPUT' });
  t.equal(echoOptionsFromArgs(['--help'], {}), 'help');
});

t.test('image mode reads the echo-basic environment', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-echo-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pair = createDevCA().issue(['localhost']);
  writeFileSync(join(dir, 'crt'), pair.certPem);
  writeFileSync(join(dir, 'key'), pair.keyPem);
  const base = { POD_NAME: 'infra-backend-v1-x', NAMESPACE: 'gateway-conformance-infra' };
  t.match(echoOptionsFromArgs([], base), { http: { port: 3000 }, h2c: { port: 3001 }, https: undefined, httpPort: '3000' });
  const withTls = echoOptionsFromArgs(['--bind', '10.1.0.5'], {
    ...base,
    HTTP_PORT: '8080',
    TLS_SERVER_CERT: join(dir, 'crt'),
    TLS_SERVER_PRIVKEY: join(dir, 'key'),
    TLS_CLIENT_CACERTS: join(dir, 'crt'),
  });
  t.match(withTls, { http: { host: '10.1.0.5', port: 8080 }, https: { host: '10.1.0.5', port: 8443 }, httpPort: '8080' });
  t.ok((withTls as { tls?: { clientCa?: Buffer } }).tls?.clientCa, 'client CA read from TLS_CLIENT_CACERTS');
  t.match(echoOptionsFromArgs([], { ...base, GRPC_ECHO_SERVER: '1' }), { grpc: { port: 3000 }, https: undefined, http: undefined });
  t.match(
    echoOptionsFromArgs([], { ...base, GRPC_ECHO_SERVER: '1', TLS_SERVER_CERT: join(dir, 'crt'), TLS_SERVER_PRIV_KEY: join(dir, 'key') }),
    { grpc: { port: 3000 }, https: { port: 8443 } },
    'gRPC mode spells the key variable TLS_SERVER_PRIV_KEY',
  );
  t.match(echoOptionsFromArgs([], { ...base, TCP_ECHO_SERVER: '1', TCP_PORT: '4000' }), { tcp: { port: 4000 }, tcpTls: undefined, tcpPort: '4000' });
  t.match(echoOptionsFromArgs([], { ...base, UDP_ECHO_SERVER: '1' }), { udp: { port: 8080 } });
  t.throws(() => echoOptionsFromArgs([], { HTTP_PORT: 'x' }), { code: 'ERR_SLUICE_USAGE' });
});

t.test('runEcho serves until stopped and prints its ports', async (t) => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  const stop = new AbortController();
  const done = runEcho(['--listen', '127.0.0.1:0', '--name', 'cli-pod'], { stdout: out, stderr: out }, { signal: stop.signal, env: {} });
  while (!/listening on 127\.0\.0\.1:(\d+)/.test(text)) await new Promise((r) => setTimeout(r, 10));
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(text)![1]);
  const res = await fetch(`http://127.0.0.1:${port}/cli?q=1`);
  const body = (await res.json()) as { pod: string; path: string };
  t.equal(body.pod, 'cli-pod');
  t.equal(body.path, '/cli?q=1');
  t.match(text, /Echoing back request made to \/cli\?q=1 to client \(127\.0\.0\.1:\d+\)/);
  stop.abort();
  t.equal(await done, 0);
  await t.rejects(fetch(`http://127.0.0.1:${port}/`), 'closed after stop');
});

t.test('the sluice echo process exits cleanly on SIGTERM', async (t) => {
  const loader = process.execArgv.filter((a) => a.includes('typescript'));
  const child = spawn(process.execPath, [...loader, join(root, 'src/cli/main.ts'), 'echo', '--listen', '127.0.0.1:0', '--name', 'proc'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let text = '';
  let errText = '';
  child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${errText}`)));
  });
  const body = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { pod: string };
  t.equal(body.pod, 'proc');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exit code 0 after SIGTERM');
});
