import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { runCheck } from '../../src/cli/check.js';
import { createDevCA, tlsSecret } from '../../src/util/devcert.js';

class Sink {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

async function check(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCheck(args, { stdout, stderr });
  return { code, out: stdout.text, err: stderr.text };
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-check-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const GOOD = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: sluice
  listeners:
    - { name: http, protocol: HTTP, port: 8080 }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec:
  parentRefs: [{ name: gw, sectionName: http }]
  rules:
    - backendRefs: [{ name: web, port: 80 }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  ports: [{ port: 80 }]
`;

t.test('exit 0 and a table of every object and condition when all is well', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'good.yaml');
  await writeFile(file, GOOD);
  const { code, out, err } = await check(['--config', file]);
  t.equal(code, 0, err);
  t.match(out, /^GATEWAYCLASS\s+CONTROLLER\s+ACCEPTED\nsluice\s+sluice\.dev\/gateway-controller\s+True\n/);
  t.match(out, /\nGATEWAY\s+CLASS\s+ADDRESSES\s+ACCEPTED\s+PROGRAMMED\ndefault\/gw\s+sluice\s+-\s+True\s+True\n/);
  t.match(out, /\nLISTENER\s+PROTOCOL\s+PORT\s+HOSTNAME\s+ROUTES\s+ACCEPTED\s+PROGRAMMED\s+RESOLVEDREFS\s+CONFLICTED\ndefault\/gw\/http\s+HTTP\s+8080\s+\*\s+1\s+True\s+True\s+True\s+False\n/);
  t.match(out, /\nROUTE\s+PARENT\s+ACCEPTED\s+RESOLVEDREFS\nHTTPRoute\/default\/web\s+default\/gw\/http\s+True\s+True\n/);
  t.match(out, /\nOBJECT\s+FOR\s+TYPE\s+STATUS\s+REASON\s+MESSAGE\n/);
  t.match(out, /GatewayClass\/sluice\s+Accepted\s+True\s+Accepted/);
  t.match(out, /Gateway\/default\/gw\s+Accepted\s+True\s+Accepted\s+Gateway is accepted\n\s+Programmed\s+True\s+Programmed\s+Gateway is programmed\n/);
  t.match(out, /listener http\s+Accepted\s+True\s+Accepted/);
  t.match(out, /HTTPRoute\/default\/web\s+parent default\/gw\/http\s+Accepted\s+True\s+Accepted/);
  t.match(err, /check: OK/);
});

t.test('exit 1 when a route does not resolve its backend; the condition message is shown', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, GOOD.replace('name: web, port: 80', 'name: missing, port: 80'));
  const { code, out, err } = await check(['-c', file]);
  t.equal(code, 1);
  t.match(out, /ResolvedRefs\s+False\s+BackendNotFound\s+spec\.rules\[0\]\.backendRefs\[0\]: Service default\/missing not found/);
  t.match(err, 'check: FAILED (1 problem)\n  HTTPRoute default/web parent default/gw/http: ResolvedRefs=False (BackendNotFound): spec.rules[0].backendRefs[0]: Service default/missing not found');
});

t.test('exit 1 when an object is rejected by validation; the error names file, object and field', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `${GOOD}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: bad }
spec:
  parentRefs: [{ name: gw }]
  rules: [{ matches: [{ path: { type: Prefix, value: / } }] }]
`);
  const { code, err } = await check(['--config', file]);
  t.equal(code, 1);
  t.match(err, `error: ${file}:28:33: HTTPRoute default/bad`);
  t.match(err, 'HTTPRoute default/bad: spec.rules[0].matches[0].path.type: Unsupported value: "Prefix"');
  t.match(err, /1 field error rejected objects/);
});

t.test('exit 1 for a Gateway whose GatewayClass does not exist; other controllers are ignored', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `${GOOD.replace('gatewayClassName: sluice', 'gatewayClassName: typo')}`);
  let r = await check(['--config', file]);
  t.equal(r.code, 1);
  t.match(r.err, 'Gateway default/gw: GatewayClass "typo" does not exist');
  t.match(r.err, 'HTTPRoute default/web: not attached to any Gateway of sluice.dev/gateway-controller');

  await writeFile(file, `${GOOD.replace('gatewayClassName: sluice', 'gatewayClassName: other')}---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: other }
spec: { controllerName: example.com/other }
`);
  r = await check(['--config', file]);
  t.equal(r.code, 0, r.err);
  t.match(r.err, 'ignored: Gateway default/gw: GatewayClass other belongs to another controller');
  t.match(r.err, 'ignored: HTTPRoute default/web: attached only to Gateways of other controllers');
  t.match(r.out, /default\/gw\s+other\s+-\s+\(ignored\)/);
});

t.test('-o yaml prints a List of the objects with their full status', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'good.yaml');
  await writeFile(file, GOOD);
  const { code, out } = await check(['--config', file, '-o', 'yaml']);
  t.equal(code, 0);
  const doc = parse(out) as { kind: string; items: { kind: string; metadata: { name: string; namespace?: string }; status: Record<string, unknown> }[] };
  t.equal(doc.kind, 'List');
  t.same(doc.items.map((i) => `${i.kind}/${i.metadata.namespace ?? ''}/${i.metadata.name}`), ['GatewayClass//sluice', 'Gateway/default/gw', 'HTTPRoute/default/web']);
  const gw = doc.items[1]!;
  t.match(gw.status, { conditions: [{ type: 'Accepted', status: 'True' }, { type: 'Programmed', status: 'True' }], listeners: [{ name: 'http', attachedRoutes: 1 }] });
  t.match(doc.items[2]!.status, { parents: [{ parentRef: { name: 'gw', sectionName: 'http' }, controllerName: 'sluice.dev/gateway-controller' }] });
});

t.test('exit 2 on unreadable input or bad usage', async (t) => {
  const dir = await tempDir(t);
  let r = await check(['--config', join(dir, 'missing.yaml')]);
  t.equal(r.code, 2);
  t.match(r.err, /sluice check: cannot read .*missing\.yaml: no such file or directory/);

  const file = join(dir, 'broken.yaml');
  await writeFile(file, `${GOOD}---\nkind: [oops\n`);
  r = await check(['--config', file]);
  t.equal(r.code, 2, 'a YAML syntax error is unreadable input');
  t.match(r.err, `error: ${file}:`);
  t.match(r.err, 'YAML syntax error');

  r = await check([]);
  t.equal(r.code, 2);
  t.match(r.err, '--config PATH is required');
  r = await check(['--config', file, '-o', 'json']);
  t.equal(r.code, 2);
  r = await check(['--bogus']);
  t.equal(r.code, 2);
  r = await check(['--help']);
  t.equal(r.code, 0);
  t.match(r.out, 'Usage: sluice check');
});

t.test('the redirect-loop diagnostic is printed; the quickstart pattern (two pinned routes) passes', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  const gatewayAndSecret = (name: string): string => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: sluice
  listeners:
    - { name: http, protocol: HTTP, port: 8080 }
    - name: https
      protocol: HTTPS
      port: 8443
      tls: { certificateRefs: [{ name: ${name} }] }
`;
  const leaf = createDevCA('check test CA').issue(['example.test']);
  const secret = stringify(tlsSecret('cert', 'default', leaf));
  await writeFile(file, `${gatewayAndSecret('cert')}---
${secret}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: redirect }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
`);
  let r = await check(['--config', file]);
  t.match(r.err, /warning: HTTPRoute default\/redirect spec\.rules\[0\]\.filters: this rule redirects to https, but the route is attached to HTTPS listener\(s\) default\/gw\/https.*sectionName.*\[RedirectLoop\]/);
  t.equal(r.code, 0, 'a warning does not change the exit status');

  await writeFile(file, `${gatewayAndSecret('cert')}---
${secret}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: redirect }
spec:
  parentRefs: [{ name: gw, sectionName: http }]
  rules:
    - filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
`);
  r = await check(['--config', file]);
  t.notMatch(r.err, 'RedirectLoop');
  t.equal(r.code, 0, r.err);

  await writeFile(file, gatewayAndSecret('nope'));
  r = await check(['--config', file]);
  t.equal(r.code, 1, 'a listener whose certificate is missing fails the check');
  t.match(r.err, /Gateway default\/gw listener https: ResolvedRefs=False \(InvalidCertificateRef\)/);
  t.match(r.out, /InvalidCertificateRef/);
});

t.test('--controller-name: the implied GatewayClass sluice belongs to that controller', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'good.yaml');
  await writeFile(file, GOOD);
  const { code, out, err } = await check(['--config', file, '--controller-name', 'example.com/mine']);
  t.equal(code, 0, err);
  t.match(out, /sluice\s+example\.com\/mine\s+True/);
  t.match(out, /parent default\/gw\/http\s+Accepted\s+True/);
});

t.test('ListenerSets: a summary row each, their listeners listed, and a not-allowed ListenerSet fails the check', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ls.yaml');
  const withSet = GOOD.replace('  listeners:\n', '  allowedListeners: { namespaces: { from: Same } }\n  listeners:\n') + `---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: { name: team }
spec:
  parentRef: { name: gw }
  listeners:
    - { name: extra, protocol: HTTP, port: 8081 }
`;
  await writeFile(file, withSet);
  const ok = await check(['-c', file]);
  t.equal(ok.code, 0, ok.err);
  t.match(ok.out, /\nLISTENERSET\s+GATEWAY\s+ACCEPTED\s+PROGRAMMED\ndefault\/team\s+default\/gw\s+True\s+True\n/);
  t.match(ok.out, /\nListenerSet\/default\/team\/extra\s+HTTP\s+8081\s+\*\s+0\s+True\s+True\s+True\s+False\n/);
  t.match(ok.out, /ListenerSet\/default\/team\s+Accepted\s+True\s+Accepted/);

  await writeFile(file, withSet.replace('from: Same', 'from: None'));
  const refused = await check(['-c', file]);
  t.equal(refused.code, 1);
  t.match(refused.out, /\ndefault\/team\s+default\/gw\s+False\s+False\n/);
  t.match(refused.err, /ListenerSet default\/team: Accepted=False \(NotAllowed\)/);
});
