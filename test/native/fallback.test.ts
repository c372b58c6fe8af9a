/**
 * Without the addon (hidden with SLUICE_DISABLE_NATIVE=1, as if it were not
 * built): nothing throws, --ebpf=auto relays in userspace with the same
 * semantics, --ebpf=on refuses to start. Runs as any user.
 */
process.env.SLUICE_DISABLE_NATIVE = '1';

import { Registry } from 'prom-client';
import t from 'tap';
import { loadAddon, probe } from '../../src/native/addon.js';
import { createSpliceEngine, registerSpliceMetrics, SpliceEngine, SpliceUnavailableError } from '../../src/native/splice.js';
import { closeCode, connect, readAll, sha256, startEcho, startProxy, startServer, streamBytes, waitFor, writeStream } from './fixtures/helpers.js';

t.test('the addon is hidden and probe() explains why without throwing', async (t) => {
  t.equal(loadAddon(), null);
  const p = probe();
  t.equal(p.ok, false);
  t.equal(p.code, 'ERR_SLUICE_NATIVE_UNAVAILABLE');
  t.match(p.reason, /SLUICE_DISABLE_NATIVE=1/);
});

t.test('--ebpf=auto runs without splicing; --ebpf=on refuses; --ebpf=off never loads', async (t) => {
  const auto = await createSpliceEngine({ mode: 'auto' });
  t.equal(auto.enabled, false);
  t.match(auto.reason, /SLUICE_DISABLE_NATIVE/);
  const err = await createSpliceEngine({ mode: 'on' }).catch((e: unknown) => e);
  t.ok(err instanceof SpliceUnavailableError);
  t.equal((err as SpliceUnavailableError).code, 'ERR_SLUICE_SPLICE_UNAVAILABLE');
  const off = await createSpliceEngine({ mode: 'off' });
  t.equal(off.enabled, false);
  t.same(off.stats(), { loaded: false, connections: 0, splicedTotal: 0, enabled: false, refused: 0, aborted: 0 });
  const engine = new SpliceEngine();
  t.equal((await engine.selfTest()).ok, false, 'a self-test without the addon fails cleanly');
  const registry = new Registry();
  registerSpliceMetrics(registry, auto);
  const text = await registry.metrics();
  t.match(text, /^sluice_splice_enabled 0$/m);
  t.match(text, /^sluice_splice_bytes_total\{direction="client_to_backend"\} 0$/m);
});

t.test('relay() pipes in userspace: both directions, byte for byte, half-close each way', async (t) => {
  const engine = await createSpliceEngine({ mode: 'auto' });
  const clientBytes = 3 * (1 << 20) + 5;
  const serverBytes = (1 << 20) + 3;
  let serverGot: Promise<{ bytes: number; sha256: string }> | undefined;
  let serverSent: Promise<string> | undefined;
  const server = await startServer((s) => {
    serverGot = readAll(s);
    serverSent = writeStream(s, serverBytes, 21);
  });
  const proxy = await startProxy(engine, server.port);
  t.teardown(async () => {
    await proxy.close();
    await server.close();
  });
  const client = await connect(proxy.port);
  const [clientGot, clientSent] = await Promise.all([readAll(client), writeStream(client, clientBytes, 22)]);
  t.equal(proxy.connections[0]?.path, 'userspace');
  t.same(await serverGot, { bytes: clientBytes, sha256: clientSent });
  t.same(clientGot, { bytes: serverBytes, sha256: await serverSent });
  t.same(await proxy.connections[0]!.result, { aToB: clientBytes, bToA: serverBytes, path: 'userspace' });
});

t.test('userspace: the server half-closes first and the client still sends afterwards', async (t) => {
  const greeting = streamBytes(100_000, 1);
  const payload = streamBytes(500_000, 2);
  let serverGot: Promise<{ bytes: number; sha256: string }> | undefined;
  const server = await startServer((s) => {
    serverGot = readAll(s);
    s.end(greeting);
  });
  const proxy = await startProxy(undefined, server.port);
  t.teardown(async () => {
    await proxy.close();
    await server.close();
  });
  const client = await connect(proxy.port);
  t.same(await readAll(client), { bytes: greeting.length, sha256: sha256(greeting) });
  client.end(payload);
  t.same(await serverGot, { bytes: payload.length, sha256: sha256(payload) });
  t.notOk((await proxy.connections[0]!.result).error);
});

t.test('userspace: RST propagates both ways', async (t) => {
  const server = await startServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.resetAndDestroy());
  });
  const proxy = await startProxy(undefined, server.port);
  t.teardown(async () => {
    await proxy.close();
    await server.close();
  });
  const client = await connect(proxy.port);
  const code = closeCode(client);
  client.write('x');
  t.equal(await code, 'ECONNRESET', 'server RST reaches the client');
  t.equal((await proxy.connections[0]!.result).error, 'ECONNRESET');

  let serverCode: Promise<string> | undefined;
  const server2 = await startServer((s) => {
    serverCode = closeCode(s);
  });
  const proxy2 = await startProxy(undefined, server2.port);
  t.teardown(async () => {
    await proxy2.close();
    await server2.close();
  });
  const client2 = await connect(proxy2.port);
  client2.write('y');
  await waitFor(() => serverCode !== undefined && proxy2.connections.length === 1, 5000, 'the relay');
  client2.resetAndDestroy();
  t.equal(await serverCode, 'ECONNRESET', 'client RST reaches the server');
});

t.test('relay() with no engine at all and an echo', async (t) => {
  const echo = await startEcho();
  const proxy = await startProxy(undefined, echo.port);
  t.teardown(async () => {
    await proxy.close();
    await echo.close();
  });
  const client = await connect(proxy.port);
  const got = readAll(client);
  const payload = streamBytes(64_000, 3);
  client.end(payload);
  t.same(await got, { bytes: payload.length, sha256: sha256(payload) });
  t.equal(proxy.connections[0]?.path, 'userspace');
});
