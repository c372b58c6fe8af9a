// `sluice run --access-log off|stdout|PATH` and `--upstream-client`, end to end.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startEcho } from '../../src/echo/index.js';
import { eventually, freePort, gatewayYaml, httpGet, httpRouteYaml, serveConfig, serviceYaml, sleep, tempDir } from './harness.js';

const GW_ADDR = '127.0.0.1';

async function gateway(t: Test, extraArgs: string[]): Promise<{ port: number; sluice: Awaited<ReturnType<typeof serveConfig>>['sluice'] }> {
  const echo = await startEcho({ listen: '127.0.0.1:0', name: 'echo', namespace: 'default', quiet: true });
  t.teardown(() => echo.close());
  const port = await freePort(GW_ADDR);
  const { sluice } = await serveConfig(t, `
${gatewayYaml('gw', [{ name: 'http', protocol: 'HTTP', port }], { address: GW_ADDR })}
${httpRouteYaml('r', 'echo')}
${serviceYaml('echo', 'default', '127.0.0.1', echo.ports.http!)}`, { extraArgs });
  return { port, sluice };
}

t.test('--access-log PATH appends JSON lines to the file, not to stdout', async (t) => {
  const tmp = tempDir();
  t.teardown(() => tmp.remove());
  const path = join(tmp.dir, 'access.log');
  const { port, sluice } = await gateway(t, ['--access-log', path]);
  const r = await httpGet(`http://${GW_ADDR}:${port}/a?x="1"`);
  t.equal(r.status, 200);
  t.equal((await httpGet(`http://${GW_ADDR}:${port}/b`)).status, 200);
  const lines = await eventually(async () => {
    if (!existsSync(path)) return undefined;
    const l = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean);
    return l.length >= 2 ? l : undefined;
  }, 5_000, 'two access log lines in the file');
  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(entries[0].path, '/a?x=%221%22', 'the path as received');
  t.equal(entries[0].status, 200);
  t.equal(entries[1].path, '/b');
  t.match(entries[0].upstream, /^127\.0\.0\.1:\d+$/);
  t.equal(sluice.stdout(), '', 'nothing on stdout');
});

t.test('--access-log off writes no access log; --upstream-client undici still proxies', async (t) => {
  const { port, sluice } = await gateway(t, ['--access-log', 'off', '--upstream-client', 'undici']);
  for (let i = 0; i < 3; i++) t.equal((await httpGet(`http://${GW_ADDR}:${port}/x${i}`)).status, 200);
  await sleep(300);
  t.equal(sluice.stdout(), '', 'no access log lines');
});

t.test('the default access log goes to stdout and is complete at exit', async (t) => {
  const { port, sluice } = await gateway(t, []);
  for (let i = 0; i < 3; i++) t.equal((await httpGet(`http://${GW_ADDR}:${port}/y${i}`)).status, 200);
  t.equal(await sluice.stop(), 0);
  const lines = sluice.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.map((l) => l.path), ['/y0', '/y1', '/y2'], 'every request logged, in order, by the time the process exits');
});
