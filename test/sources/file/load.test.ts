import t, { type Test } from 'tap';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, ValidationError } from '../../../src/errors.js';
import { loadConfig, YamlSyntaxError, type LoadResult } from '../../../src/sources/file/index.js';

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const GATEWAY = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: infra
spec:
  gatewayClassName: sluice
  listeners:
    - name: http
      protocol: HTTP
      port: 8080
`;

const ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: web
spec:
  parentRefs:
    - name: gw
      namespace: infra
  rules:
    - matches:
        - path: { type: PathPrefix, value: /app }
      backendRefs:
        - name: web
          port: 80
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80
`;

function names(list: readonly { metadata?: { name?: string; namespace?: string } }[]): string[] {
  return list.map((o) => `${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? ''}`);
}

function messages(r: LoadResult): string[] {
  return r.errors.map((e) => e.message);
}

t.test('a multi-document file loads every object, defaulting namespace and API-server defaults', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'all.yaml');
  await writeFile(file, `${GATEWAY}---\n${ROUTE}---\n${SERVICE}---\n`);
  const r = await loadConfig(file);
  t.same(messages(r), []);
  t.same(r.warnings, []);
  t.equal(r.complete, true);
  t.same(r.files, [file]);
  t.same(names(r.snapshot.gateways), ['infra/gw']);
  t.same(names(r.snapshot.httpRoutes), ['default/web'], 'missing metadata.namespace means default');
  t.same(names(r.snapshot.services), ['default/web']);
  const route = r.snapshot.httpRoutes[0]!;
  t.same(route.spec.parentRefs![0], { name: 'gw', namespace: 'infra', group: 'gateway.networking.k8s.io', kind: 'Gateway' });
  t.same(route.spec.rules![0]!.backendRefs![0], { name: 'web', port: 80, group: '', kind: 'Service', weight: 1 });
  const listener = r.snapshot.gateways[0]!.spec.listeners[0]!;
  t.same(listener.allowedRoutes, { namespaces: { from: 'Same' } });
  t.equal(r.snapshot.services[0]!.spec!.ports![0]!.protocol, 'TCP');
  t.ok(Object.isFrozen(route), 'snapshot objects are frozen');
});

t.test('an HTTPRoute without rules gets the default PathPrefix / match', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'r.yaml');
  await writeFile(file, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  parentRefs: [{ name: gw }]
  rules:
    - backendRefs: [{ name: s, port: 80 }]
    - matches: [{ headers: [{ name: version, value: "2" }] }]
      backendRefs: [{ name: s, port: 80 }]
`);
  const r = await loadConfig(file);
  t.same(messages(r), []);
  const rules = r.snapshot.httpRoutes[0]!.spec.rules!;
  t.same(rules[0]!.matches, [{ path: { type: 'PathPrefix', value: '/' } }]);
  t.same(rules[1]!.matches, [{ headers: [{ name: 'version', value: '2', type: 'Exact' }], path: { type: 'PathPrefix', value: '/' } }]);
});

t.test('a directory loads *.yaml, *.yml and *.json in name order, not recursively', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, '10-gateway.yaml'), GATEWAY);
  await writeFile(join(dir, '20-route.yml'), ROUTE);
  await writeFile(join(dir, '30-service.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ port: 80 }] } }));
  await writeFile(join(dir, 'notes.txt'), 'not: [config');
  await writeFile(join(dir, '.hidden.yaml'), 'broken: [');
  await writeFile(join(dir, '.#lock.yaml'), 'broken: [');
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'other.yaml'), SERVICE.replace('name: web', 'name: nested'));
  await mkdir(join(dir, 'dir.yaml'));
  await writeFile(join(dir, 'target.data'), SERVICE.replace('name: web', 'name: linked'));
  await symlink(join(dir, 'target.data'), join(dir, '40-link.yaml'));
  const r = await loadConfig(dir);
  t.same(messages(r), []);
  t.same(r.files, ['10-gateway.yaml', '20-route.yml', '30-service.json', '40-link.yaml'].map((f) => join(dir, f)));
  t.same(names(r.snapshot.services), ['default/linked', 'default/web'], 'symlinked file loads, subdirectory does not');
  t.same(names(r.snapshot.gateways), ['infra/gw']);
});

t.test('the same object twice: the later one wins, with a warning', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), SERVICE);
  await writeFile(join(dir, 'b.yaml'), SERVICE.replace('port: 80', 'port: 81'));
  const r = await loadConfig(dir);
  t.equal(r.snapshot.services.length, 1);
  t.equal(r.snapshot.services[0]!.spec!.ports![0]!.port, 81);
  t.equal(r.warnings.length, 1);
  t.match(r.warnings[0], /b\.yaml:1:1: Service default\/web is also defined at .*a\.yaml:1:1; the later definition wins/);
});

t.test('Secrets: stringData folds into base64 data; Namespaces get the metadata.name label', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `apiVersion: v1
kind: Secret
metadata: { name: cert, namespace: infra }
type: kubernetes.io/tls
stringData:
  tls.crt: CERT
data:
  tls.key: ${Buffer.from('KEY').toString('base64')}
---
apiVersion: v1
kind: Namespace
metadata:
  name: infra
  labels: { team: platform }
`);
  const r = await loadConfig(file);
  t.same(messages(r), []);
  const secret = r.snapshot.secrets[0]!;
  t.equal(Buffer.from(secret.data!['tls.crt']!, 'base64').toString(), 'CERT');
  t.equal(Buffer.from(secret.data!['tls.key']!, 'base64').toString(), 'KEY');
  t.notOk('stringData' in secret);
  t.same(r.snapshot.namespaces[0]!.metadata!.labels, { team: 'platform', 'kubernetes.io/metadata.name': 'infra' });
});

t.test('namespaces used by objects but not declared are implied, with the automatic label', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `${GATEWAY}---\n${ROUTE}`);
  const r = await loadConfig(file);
  t.same(names(r.snapshot.namespaces), ['default', 'infra']);
  t.same(r.snapshot.namespaces[1]!.metadata!.labels, { 'kubernetes.io/metadata.name': 'infra' });
});

t.test('GatewayClass sluice is implied only when a Gateway uses it and none is declared', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, GATEWAY);
  let r = await loadConfig(file);
  t.same(r.snapshot.gatewayClasses, [{
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass',
    metadata: { name: 'sluice', generation: 1 }, spec: { controllerName: 'sluice.dev/gateway-controller' },
  }]);

  await writeFile(file, `${GATEWAY}---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: { name: sluice }
spec: { controllerName: example.com/other, description: mine }
`);
  r = await loadConfig(file);
  t.equal(r.snapshot.gatewayClasses.length, 1);
  t.equal(r.snapshot.gatewayClasses[0]!.spec.controllerName, 'example.com/other', 'a declared class is kept as is');

  await writeFile(file, GATEWAY.replace('gatewayClassName: sluice', 'gatewayClassName: other'));
  r = await loadConfig(file);
  t.same(r.snapshot.gatewayClasses, [], 'no Gateway uses sluice: nothing implied');

  await writeFile(file, GATEWAY);
  r = await loadConfig(file, { impliedGatewayClass: false });
  t.same(r.snapshot.gatewayClasses, [], 'implying can be turned off');
});

t.test('older served apiVersions are accepted and stored as the preferred version', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: rg, namespace: backends }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default }]
  to: [{ group: "", kind: Service }]
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: tcp }
spec:
  parentRefs: [{ name: gw }]
  rules: [{ backendRefs: [{ name: s, port: 5432 }] }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: s-1, labels: { kubernetes.io/service-name: s } }
addressType: IPv4
endpoints: [{ addresses: [127.0.0.1], conditions: { ready: true } }]
ports: [{ name: "", port: 9000 }]
`);
  const r = await loadConfig(file);
  t.same(messages(r), []);
  t.equal(r.snapshot.referenceGrants[0]!.apiVersion, 'gateway.networking.k8s.io/v1');
  t.equal(r.snapshot.tcpRoutes[0]!.apiVersion, 'gateway.networking.k8s.io/v1');
  t.equal(r.snapshot.endpointSlices[0]!.ports![0]!.protocol, 'TCP');
});

t.test('unknown kinds are warned about and ignored; wrong apiVersions are errors', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `apiVersion: apps/v1
kind: Deployment
metadata: { name: d }
---
apiVersion: gateway.networking.k8s.io/v2
kind: HTTPRoute
metadata: { name: r }
spec: {}
---
${SERVICE}`);
  const r = await loadConfig(file);
  t.equal(r.warnings.length, 1);
  t.match(r.warnings[0], `${file}:1:1: document 1: kind Deployment (apps/v1) is not used by Sluice; ignored`);
  t.equal(r.errors.length, 1);
  t.match(r.errors[0]!.message, `${file}:5:1: HTTPRoute default/r: apiVersion "gateway.networking.k8s.io/v2" is not served for kind HTTPRoute; use gateway.networking.k8s.io/v1 or gateway.networking.k8s.io/v1beta1`);
  t.same(names(r.snapshot.services), ['default/web'], 'the rest still loads');
  t.equal(r.complete, true, 'invalid objects do not make the load incomplete');
});

t.test('objects without apiVersion, kind or name are errors naming the document', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `${SERVICE}---
apiVersion: v1
metadata: { name: nokind }
---
apiVersion: v1
kind: Service
metadata: { namespace: x }
spec: { ports: [{ port: 80 }] }
---
- just
- a list
---
# only a comment: an empty document is skipped
---
kind: Service
metadata: { name: noversion }
`);
  const r = await loadConfig(file);
  const errs = r.errors as ValidationError[];
  t.equal(errs.length, 4);
  t.match(errs[0]!.message, `${file}:9:1: document 2: object is missing kind`);
  t.match(errs[1]!.message, `${file}:14:1: document 3: Service is missing metadata.name`);
  t.equal(errs[1]!.field, 'metadata.name');
  t.equal(errs[1]!.object.kind, 'Service');
  t.match(errs[2]!.message, `${file}:17:1: document 4: not a Kubernetes object`);
  t.match(errs[3]!.message, /document 6: Service noversion is missing apiVersion/);
  t.ok(errs.every((e) => e instanceof ValidationError && e.code === 'ERR_SLUICE_VALIDATION' && e.file === file));
  t.same(names(r.snapshot.services), ['default/web']);
});

t.test('a List expands into its items', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, `apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Service, metadata: { name: a }, spec: { ports: [{ port: 80 }] } }
  - { apiVersion: v1, kind: Service, metadata: { name: b }, spec: { ports: [{ port: "x" }] } }
`);
  const r = await loadConfig(file);
  t.same(names(r.snapshot.services), ['default/a']);
  t.equal(r.errors.length, 1);
  t.match(r.errors[0]!.message, `${file}:5:79: Service default/b: spec.ports[0].port: Invalid value: "x": must be of type integer`);
});

t.test('schema errors name the file, line, object and field; the rest still loads', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'bad.yaml');
  await writeFile(file, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: bad-path
  namespace: apps
spec:
  parentRefs: [{ name: gw }]
  rules:
    - matches:
        - path:
            type: Prefix
            value: /
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: no-class
spec:
  listeners:
    - name: http
      protocol: HTTP
      port: 80
---
apiVersion: v1
kind: Service
metadata:
  name: bad-port
spec:
  ports:
    - port: eighty
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: good
spec:
  parentRefs: [{ name: gw }]
`);
  const r = await loadConfig(file);
  const errs = r.errors as ValidationError[];
  t.equal(errs.length, 3, messages(r).join('\n'));

  t.equal(errs[0]!.message, `${file}:11:13: HTTPRoute apps/bad-path: spec.rules[0].matches[0].path.type: Unsupported value: "Prefix": supported values: "Exact", "PathPrefix", "RegularExpression"`);
  t.same(errs[0]!.object, { kind: 'HTTPRoute', namespace: 'apps', name: 'bad-path' });
  t.equal(errs[0]!.field, 'spec.rules[0].matches[0].path.type');
  t.equal(errs[0]!.file, file);

  t.equal(errs[1]!.message, `${file}:18:1: Gateway default/no-class: spec.gatewayClassName: Required value`);
  t.equal(errs[1]!.field, 'spec.gatewayClassName');

  t.equal(errs[2]!.message, `${file}:30:7: Service default/bad-port: spec.ports[0].port: Invalid value: "eighty": must be of type integer`);

  t.same(names(r.snapshot.httpRoutes), ['default/good']);
  t.same(r.snapshot.gateways, []);
  t.same(r.snapshot.services, []);
});

/** Load one document and return its error messages. */
async function errorsFor(t: Test, doc: string): Promise<string[]> {
  const dir = await tempDir(t);
  const file = join(dir, 'x.yaml');
  await writeFile(file, doc);
  const r = await loadConfig(file);
  return r.errors.map((e) => e.message.replace(`${file}:`, ''));
}

const gatewayWith = (listeners: string): string => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: sluice
  listeners:
${listeners}`;

const routeWithRules = (rules: string): string => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  parentRefs: [{ name: gw }]
  rules:
${rules}`;

t.test('CEL rules of the Gateway CRD', async (t) => {
  t.same(await errorsFor(t, gatewayWith(`    - { name: a, protocol: HTTP, port: 80 }
    - { name: a, protocol: HTTP, port: 81 }
`)), ['8:9: Gateway default/gw: spec.listeners[1].name: Duplicate value: "a": Listener name must be unique within the Gateway (also used by listeners[0])']);

  t.same(await errorsFor(t, gatewayWith(`    - { name: a, protocol: HTTP, port: 80, hostname: x.example }
    - { name: b, protocol: HTTP, port: 80, hostname: x.example }
`)), ['8:7: Gateway default/gw: spec.listeners[1]: Invalid value: Combination of port, protocol and hostname must be unique for each listener (same as listeners[0])']);

  t.same(await errorsFor(t, gatewayWith(`    - { name: tcp, protocol: TCP, port: 5432, hostname: db.example }
`)), [`7:47: Gateway default/gw: spec.listeners[0].hostname: Invalid value: "db.example": hostname must not be specified for protocols ['TCP', 'UDP']`]);

  t.same(await errorsFor(t, gatewayWith(`    - name: https
      protocol: HTTPS
      port: 443
      tls: {}
`)), ['10:7: Gateway default/gw: spec.listeners[0].tls.certificateRefs: Required value: certificateRefs or options must be specified when mode is Terminate'],
  'tls.mode defaults to Terminate, which then needs certificateRefs');

  t.same(await errorsFor(t, gatewayWith(`    - name: http
      protocol: HTTP
      port: 80
      tls: { certificateRefs: [{ name: c }] }
`)), [`10:7: Gateway default/gw: spec.listeners[0].tls: Invalid value: tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']`]);

  t.same(await errorsFor(t, gatewayWith(`    - name: https
      protocol: HTTPS
      port: 443
      tls: { mode: Passthrough, certificateRefs: [{ name: c }] }
`)), ['10:14: Gateway default/gw: spec.listeners[0].tls.mode: Invalid value: "Passthrough": tls mode must be Terminate for protocol HTTPS']);
});

t.test('CEL rules of the HTTPRoute CRD', async (t) => {
  t.same(await errorsFor(t, routeWithRules(`    - matches: [{ path: { type: PathPrefix, value: foo } }]
`)), [`7:45: HTTPRoute default/r: spec.rules[0].matches[0].path.value: Invalid value: "foo": value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']`]);

  t.same(await errorsFor(t, routeWithRules(`    - matches: [{ path: { type: Exact, value: /a//b } }]
`)), [`7:40: HTTPRoute default/r: spec.rules[0].matches[0].path.value: Invalid value: "/a//b": must not contain '//' when type one of ['Exact', 'PathPrefix']`]);

  t.same(await errorsFor(t, routeWithRules(`    - filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
      backendRefs: [{ name: s, port: 80 }]
`)), ['7:7: HTTPRoute default/r: spec.rules[0]: Invalid value: RequestRedirect filter must not be used together with backendRefs']);

  t.same(await errorsFor(t, routeWithRules(`    - filters: [{ type: RequestHeaderModifier }]
      backendRefs: [{ name: s, port: 80 }]
`)), ['7:17: HTTPRoute default/r: spec.rules[0].filters[0].requestHeaderModifier: Required value: filter.requestHeaderModifier must be specified for RequestHeaderModifier filter.type']);

  t.same(await errorsFor(t, routeWithRules(`    - backendRefs: [{ name: s }]
`)), ['7:21: HTTPRoute default/r: spec.rules[0].backendRefs[0].port: Required value: Must have port for Service reference']);

  t.same(await errorsFor(t, routeWithRules(`    - matches: [{ path: { type: Exact, value: /a } }]
      filters:
        - type: URLRewrite
          urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /b } }
      backendRefs: [{ name: s, port: 80 }]
`)), ['7:7: HTTPRoute default/r: spec.rules[0].matches: Invalid value: When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified']);

  t.same(await errorsFor(t, routeWithRules(`    - timeouts: { request: 1s, backendRequest: 2s }
      backendRefs: [{ name: s, port: 80 }]
`)), ['7:7: HTTPRoute default/r: spec.rules[0].timeouts: Invalid value: backendRequest timeout cannot be longer than request timeout']);

  t.same(await errorsFor(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: r }
spec:
  parentRefs: [{ name: gw }, { name: gw, sectionName: http }]
`), ['5:3: HTTPRoute default/r: spec.parentRefs: Invalid value: sectionName must be specified when parentRefs includes 2 or more references to the same parent']);

  t.same(await errorsFor(t, routeWithRules(`    - matches: [{ headers: [{ name: x, value: "1" }, { name: x, value: "2" }] }]
      backendRefs: [{ name: s, port: 80 }]
`)), ['7:54: HTTPRoute default/r: spec.rules[0].matches[0].headers[1]: Duplicate value: "x": header name must be unique']);
});

t.test('core object rules: names, TLS Secret keys, Service ports', async (t) => {
  t.same(await errorsFor(t, `apiVersion: v1
kind: Secret
metadata: { name: tls }
type: kubernetes.io/tls
data: { tls.crt: ${Buffer.from('x').toString('base64')} }
`), ['5:1: Secret default/tls: data[tls.key]: Required value']);

  t.same(await errorsFor(t, `apiVersion: v1
kind: Secret
metadata: { name: s }
data: { key: "not base64!" }
`), ['4:9: Secret default/s: data.key: Invalid value: "not base64!": must be in byte format (base64)']);

  t.same(await errorsFor(t, `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: Bad_Name }
spec: {}
`), [`3:13: HTTPRoute default/Bad_Name: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`]);

  t.same(await errorsFor(t, `apiVersion: v1
kind: Service
metadata: { name: s }
spec:
  ports: [{ port: 80, name: a }, { port: 70000 }]
`), [
    '5:36: Service default/s: spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    '5:34: Service default/s: spec.ports[1].name: Required value',
  ]);
});

t.test('YAML syntax errors are InputErrors with file:line:col; other files still load', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'a.yaml'), SERVICE);
  await writeFile(join(dir, 'b.yaml'), `${SERVICE.replace('name: web', 'name: other')}---\nkind: Service\nmetadata: { name: [x }\n`);
  const r = await loadConfig(dir);
  t.equal(r.complete, false);
  t.equal(r.errors.length, 1);
  const err = r.errors[0]!;
  t.ok(err instanceof YamlSyntaxError && err instanceof InputError);
  t.equal(err.code, 'ERR_SLUICE_INPUT');
  t.equal((err as YamlSyntaxError).file, join(dir, 'b.yaml'));
  t.match(err.message, new RegExp(`^${join(dir, 'b.yaml').replace(/[.]/g, '\\.')}:10:\\d+: YAML syntax error: `));
  t.same(names(r.snapshot.services), ['default/web'], 'nothing of the broken file is used, even its valid documents');
});

t.test('a missing or unreadable PATH throws InputError', async (t) => {
  const dir = await tempDir(t);
  await t.rejects(loadConfig(join(dir, 'nope.yaml')), { code: 'ERR_SLUICE_INPUT', message: /cannot read .*nope\.yaml: no such file or directory/ });
  await t.rejects(loadConfig(join(dir, 'nope')), InputError);
});

t.test('the quickstart example loads without errors', async (t) => {
  const r = await loadConfig(new URL('../../../examples/quickstart.yaml', import.meta.url).pathname);
  t.same(messages(r), []);
  t.same(r.warnings, []);
  t.ok(r.snapshot.gateways.length > 0);
  t.ok(r.snapshot.httpRoutes.length > 0);
});

t.test('unknown fields are rejected (strict field validation), naming the field', async (t) => {
  t.same(await errorsFor(t, routeWithRules(`    - matchs: [{ path: { type: Exact, value: /a } }]
      backendRefs: [{ name: s, port: 80 }]
`)), ['7:7: HTTPRoute default/r: spec.rules[0].matchs: field not declared in schema (unknown field)']);

  t.same(await errorsFor(t, `apiVersion: v1
kind: Service
metadata: { name: s, labelz: { a: b } }
specs: {}
spec:
  ports: [{ port: 80, targetport: 8080 }]
`), [
    '3:22: Service default/s: metadata.labelz: field not declared in schema (unknown field)',
    '4:1: Service default/s: specs: field not declared in schema (unknown field)',
    '6:23: Service default/s: spec.ports[0].targetport: field not declared in schema (unknown field)',
  ]);

  t.same(await errorsFor(t, `apiVersion: v1
kind: Secret
metadata: { name: s, annotations: { anything/goes: "x" } }
data: { any-key: ${Buffer.from('v').toString('base64')} }
status: { ignored: true }
`), [], 'free-form maps accept any key; status is dropped');
});

t.test('ListenerSets load with API-server defaults; their schema and listener rules are checked', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'ls.yaml');
  await writeFile(file, `apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: { name: team, namespace: apps }
spec:
  parentRef: { name: gw, namespace: infra }
  listeners:
    - { name: web, protocol: HTTP, port: 8080, hostname: team.example.com }
`);
  const r = await loadConfig(file);
  t.same(messages(r), []);
  t.same(names(r.snapshot.listenerSets), ['apps/team']);
  const set = r.snapshot.listenerSets[0]!;
  t.same(set.spec.parentRef, { name: 'gw', namespace: 'infra', group: 'gateway.networking.k8s.io', kind: 'Gateway' });
  t.same(set.spec.listeners[0]!.allowedRoutes, { namespaces: { from: 'Same' } });

  t.match(await errorsFor(t, `apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: { name: bad }
spec:
  listeners:
    - { name: web, protocol: HTTP, port: 8080 }
`), [/ListenerSet default\/bad: spec\.parentRef: Required value/]);

  t.match(await errorsFor(t, `apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: { name: dup }
spec:
  parentRef: { name: gw }
  listeners:
    - { name: a, protocol: HTTP, port: 80 }
    - { name: a, protocol: HTTP, port: 81 }
`), [/ListenerSet default\/dup: spec\.listeners\[1\]\.name: Duplicate value: "a"/]);
});
