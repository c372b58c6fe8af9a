// `sluice run` end to end: real process, real echo backends, real sockets.
import t, { type Test } from 'tap';
import { startEcho, type EchoServer } from '../../src/echo/index.js';
import { eventually, freePort, gatewayYaml, httpGet, serveConfig, serviceYaml, sleep, writeConfig, type SluiceProcess } from './harness.js';

const GW_ADDR = '127.0.0.1';

async function setup(t: Test): Promise<{ v1: EchoServer; v2: EchoServer; port: number; config: string; sluice: SluiceProcess; yaml: (opts?: { v1Weight?: number; v2Weight?: number; generation?: string }) => string }> {
  const v1 = await startEcho({ listen: '127.0.0.1:0', name: 'echo-v1', namespace: 'default', quiet: true });
  const v2 = await startEcho({ listen: '127.0.0.1:0', name: 'echo-v2', namespace: 'default', quiet: true });
  const port = await freePort(GW_ADDR);
  const yaml = ({ v1Weight = 95, v2Weight = 5, generation = 'initial' }: { v1Weight?: number; v2Weight?: number; generation?: string } = {}): string => `
${gatewayYaml('echo', [{ name: 'http', protocol: 'HTTP', port }], { address: GW_ADDR })}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: echo, namespace: default }
spec:
  parentRefs: [{ name: echo }]
  rules:
    - matches:
        - path: { type: PathPrefix, value: /login }
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches:
        - path: { type: PathPrefix, value: / }
          headers: [{ name: version, value: "2" }]
      backendRefs: [{ name: echo-v2, port: 80 }]
    - matches:
        - path: { type: PathPrefix, value: / }
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            add: [{ name: foo, value: bar }, { name: x-generation, value: ${generation} }]
      backendRefs:
        - { name: echo-v1, port: 80, weight: ${v1Weight} }
        - { name: echo-v2, port: 80, weight: ${v2Weight} }
${serviceYaml('echo-v1', 'default', '127.0.0.1', v1.ports.http!)}
${serviceYaml('echo-v2', 'default', '127.0.0.1', v2.ports.http!)}`;
  t.teardown(async () => {
    await v1.close();
    await v2.close();
  });
  const { sluice, config } = await serveConfig(t, yaml());
  return { v1, v2, port, config, sluice, yaml };
}

t.test('routes by path, header and weight, and the backend sees the filtered request', async (t) => {
  const { port, sluice } = await setup(t);
  const base = `http://${GW_ADDR}:${port}`;

  const login = await httpGet(`${base}/login/page?x=1`, { host: 'foo.bar.com' });
  t.equal(login.status, 200);
  t.equal(login.json().pod, 'echo-v2', '/login goes to echo-v2');
  t.equal(login.json().path, '/login/page?x=1', 'backend sees the full request URI');
  t.equal(login.json().host, 'foo.bar.com', 'backend sees the original Host');

  const v2 = await httpGet(`${base}/anything`, { headers: { version: '2' } });
  t.equal(v2.json().pod, 'echo-v2', 'header match version: 2 goes to echo-v2');

  const filtered = await httpGet(`${base}/loginx`);
  t.equal(filtered.status, 200);
  const seen = filtered.json().headers;
  const foo = seen.Foo ?? seen.foo;
  t.same(foo, ['bar'], 'RequestHeaderModifier added foo: bar');
  t.ok(seen['X-Forwarded-For'] ?? seen['x-forwarded-for'], 'X-Forwarded-For is appended');

  // The access log is written asynchronously: wait for the three lines.
  const lines = await eventually(async () => {
    const l = sluice.stdout().trim().split('\n').filter(Boolean);
    return l.length >= 3 ? l : undefined;
  }, 5000, 'three access log lines');
  t.equal(lines.length, 3, 'one access log line per request on stdout');
  const entry = JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
  t.equal(entry.status, 200, 'access log records the status');
});

t.test('a 95/5 split is exactly 950/50 over 1000 requests', async (t) => {
  const { port } = await setup(t);
  const counts: Record<string, number> = {};
  for (let i = 0; i < 1000; i++) {
    const res = await httpGet(`http://${GW_ADDR}:${port}/split/${i}`);
    const pod = res.json().pod;
    counts[pod] = (counts[pod] ?? 0) + 1;
  }
  t.same(counts, { 'echo-v1': 950, 'echo-v2': 50 });
});

t.test('a config change under load drops no request, and a broken edit keeps the last good config', async (t) => {
  const { port, config, sluice, yaml } = await setup(t);
  const url = `http://${GW_ADDR}:${port}/load`;
  let stop = false;
  const failures: string[] = [];
  let done = 0;
  const worker = async (): Promise<void> => {
    // Bounded: at most 3000 requests per worker.
    for (let i = 0; i < 3000 && !stop; i++) {
      try {
        const res = await httpGet(url);
        if (res.status !== 200) failures.push(`status ${res.status}: ${res.body}`);
      } catch (e) {
        failures.push(String(e));
      }
      done++;
    }
  };
  const workers = Array.from({ length: 8 }, () => worker());
  for (let i = 0; i < 6; i++) {
    await sleep(150);
    const last = i === 5;
    writeConfig(config, yaml({ ...(i % 2 === 0 ? { v1Weight: 0, v2Weight: 1 } : { v1Weight: 1, v2Weight: 0 }), generation: last ? 'final' : `g${i}` }));
  }
  // Wait until the last change (all traffic to echo-v1, generation "final") is live.
  await eventually(async () => {
    const body = (await httpGet(`${url}?probe`)).json();
    const gen = body.headers['X-Generation'] ?? body.headers['x-generation'];
    return body.pod === 'echo-v1' && gen?.[0] === 'final';
  }, 10_000, 'last reload');
  const doneDuringReloads = done;
  stop = true;
  await Promise.all(workers);
  t.ok(doneDuringReloads >= 8, `${doneDuringReloads} requests completed while reloading`);
  t.same(failures.slice(0, 5), [], 'no request failed during reloads');

  const before = (await (await fetch(`${sluice.admin}/config_dump`)).json()) as { table: { version: string } };
  writeConfig(config, 'apiVersion: v1\nkind: [this is not: valid yaml\n');
  await sleep(1500);
  const res = await httpGet(url);
  t.equal(res.status, 200, 'still serving after a broken edit');
  t.equal(res.json().pod, 'echo-v1', 'with the last good routes');
  const after = (await (await fetch(`${sluice.admin}/config_dump`)).json()) as { table: { version: string } };
  t.equal(after.table.version, before.table.version, 'route table unchanged');
  t.match(sluice.stderr(), /last good configuration keeps serving/, 'the error is logged');
});

t.test('admin endpoints and SIGTERM drain', async (t) => {
  const { sluice } = await setup(t);
  t.equal((await fetch(`${sluice.admin}/healthz`)).status, 200);
  t.equal((await fetch(`${sluice.admin}/readyz`)).status, 200);
  const metrics = await (await fetch(`${sluice.admin}/metrics`)).text();
  t.match(metrics, /process_cpu_user_seconds_total/, 'Prometheus text format');
  const dump = (await (await fetch(`${sluice.admin}/config_dump`)).json()) as { statuses: Array<{ kind: string; name: string; status: { conditions?: Array<{ type: string; status: string }> } }> };
  const gw = dump.statuses.find((s) => s.kind === 'Gateway' && s.name === 'echo');
  t.ok(gw, 'config_dump has the Gateway status');
  t.ok(gw?.status.conditions?.some((c) => c.type === 'Programmed' && c.status === 'True'), 'Gateway is Programmed');
  const code = await sluice.stop('SIGTERM');
  t.equal(code, 0, 'exits 0 after draining');
});
