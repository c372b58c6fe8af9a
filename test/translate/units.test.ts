import t from 'tap';
import { canonicalJson, contentHash } from '../../src/translate/canonical.js';
import { parseGatewayDuration } from '../../src/translate/duration.js';
import { selectorMatches } from '../../src/translate/selectors.js';

t.test('Gateway API durations', (t) => {
  t.equal(parseGatewayDuration('0s'), 0);
  t.equal(parseGatewayDuration('500ms'), 500);
  t.equal(parseGatewayDuration('1s'), 1000);
  t.equal(parseGatewayDuration('1h2m'), 3_720_000);
  t.equal(parseGatewayDuration('1h2m3s4ms'), 3_723_004);
  t.equal(parseGatewayDuration('99999ms'), 99_999);
  for (const bad of ['', '1', '1.5s', '1d', '-1s', '1h2m3s4ms5ms', '100000s', '1 s']) t.equal(parseGatewayDuration(bad), undefined, `rejects ${JSON.stringify(bad)}`);
  t.end();
});

t.test('label selectors', (t) => {
  const labels = { 'kubernetes.io/metadata.name': 'observability', env: 'prod' };
  t.ok(selectorMatches({}, labels), 'empty selector matches everything');
  t.ok(selectorMatches({ matchLabels: { env: 'prod' } }, labels));
  t.notOk(selectorMatches({ matchLabels: { env: 'dev' } }, labels));
  t.ok(selectorMatches({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['observability', 'flux-system'] }] }, labels));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['flux-system'] }] }, labels));
  t.ok(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] }, labels));
  t.ok(selectorMatches({ matchExpressions: [{ key: 'missing', operator: 'NotIn', values: ['x'] }] }, labels), 'NotIn holds for an absent key');
  t.ok(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, labels));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] }, labels));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'Gt', values: ['1'] }] }, labels), 'unknown operators fail closed');
  t.end();
});

t.test('canonical JSON and content hash', (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
  t.equal(contentHash({ a: 1, b: 2 }), contentHash({ b: 2, a: 1 }));
  t.not(contentHash({ a: 1 }), contentHash({ a: 2 }));
  t.match(contentHash({}), /^[0-9a-f]{16}$/);
  t.end();
});
