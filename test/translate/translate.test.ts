import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import t from 'tap';
import { buildSnapshot } from '../../src/store/build.js';
import type { Snapshot } from '../../src/store/snapshot.js';
import { canonicalJson } from '../../src/translate/canonical.js';
import { SUPPORTED_FEATURES, translate } from '../../src/translate/index.js';
import { caseOptions, readObjects } from '../golden/harness.js';

const goldenRoot = join(dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const options = { controllerName: 'sluice.dev/gateway-controller' };

function load(name: string): Snapshot {
  return buildSnapshot(readObjects(readFileSync(join(goldenRoot, name, 'in.yaml'), 'utf8')));
}

t.test('translate is deterministic and does not touch its input', (t) => {
  const snap = load('seed-shared-platform-gateway');
  const before = JSON.stringify(snap);
  const a = translate(snap, options);
  const b = translate(snap, options);
  t.equal(canonicalJson(a), canonicalJson(b));
  t.equal(JSON.stringify(snap), before, 'snapshot unchanged');
  t.ok(Object.isFrozen(a.table.ports[0].listeners[0].virtualHosts[0].routes[0].action), 'table deeply frozen');
  t.ok(Object.isFrozen(a.statuses), 'statuses frozen');
  t.end();
});

t.test('any order of the snapshot lists gives the same result', (t) => {
  const cases = readdirSync(goldenRoot, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  // A spread of cases with several objects per list.
  const picked = cases.filter((c) => /^(seed-shared|precedence-|hostname-|attach-namespaces|gateway-cross|backend-endpoints|tls-terminate)/.test(c));
  t.ok(picked.length >= 8, `${picked.length} cases`);
  for (const name of picked) {
    const snap = load(name);
    const opts = caseOptions(join(goldenRoot, name));
    const want = canonicalJson(translate(snap, opts));
    const keys = Object.keys(snap) as (keyof Snapshot)[];
    fc.assert(
      fc.property(
        fc.tuple(...keys.map((k) => fc.shuffledSubarray([...snap[k]] as unknown[], { minLength: snap[k].length, maxLength: snap[k].length }))),
        (lists) => {
          const shuffled = Object.fromEntries(keys.map((k, i) => [k, lists[i]])) as unknown as Snapshot;
          return canonicalJson(translate(shuffled, opts)) === want;
        },
      ),
      { numRuns: 25 },
    );
  }
  t.end();
});

t.test('table version is a content hash', (t) => {
  const base = load('seed-echo-basic');
  const v1 = translate(base, options).table.version;
  const withConfigMap = { ...base, configMaps: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'echo' } }] } as Snapshot;
  t.equal(translate(withConfigMap, options).table.version, v1, 'unrelated objects do not change it');
  const slices = base.endpointSlices.map((s) => ({ ...s, endpoints: [{ addresses: ['10.9.9.9'] }] }));
  t.not(translate({ ...base, endpointSlices: slices } as Snapshot, options).table.version, v1, 'new endpoints change it');
  t.end();
});

t.test('certificates carry the key for the data plane', (t) => {
  const r = translate(load('seed-https-terminate'), options);
  const cert = r.table.ports[0].listeners[0].tls?.certificates[0];
  t.match(cert?.keyPem, /BEGIN PRIVATE KEY/);
  t.match(cert?.certPem, /BEGIN CERTIFICATE/);
  t.equal(cert?.secret, 'echo/echo-tls');
  t.notMatch(JSON.stringify(r.statuses) + JSON.stringify(r.diagnostics), /PRIVATE KEY/, 'never in statuses or diagnostics');
  t.end();
});

t.test('another controller name owns nothing here', (t) => {
  const r = translate(load('seed-echo-basic'), { controllerName: 'example.com/other' });
  t.same(r.statuses, []);
  t.same(r.table.ports, []);
  t.end();
});

t.test('SUPPORTED_FEATURES is sorted, unique and reported by the GatewayClass', (t) => {
  t.same([...SUPPORTED_FEATURES].sort(), SUPPORTED_FEATURES);
  t.equal(new Set(SUPPORTED_FEATURES).size, SUPPORTED_FEATURES.length);
  for (const f of ['Gateway', 'HTTPRoute', 'ReferenceGrant']) t.ok(SUPPORTED_FEATURES.includes(f), `core feature ${f}`);
  const cls = translate(load('seed-echo-basic'), options).statuses.find((s) => s.kind === 'GatewayClass');
  t.same(cls?.status.supportedFeatures, SUPPORTED_FEATURES.map((name) => ({ name })));
  t.end();
});
