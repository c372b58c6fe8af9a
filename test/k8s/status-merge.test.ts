import t from 'tap';
import { adoptTransitionTimes, canonical, mergeStatus, refsEqual, withoutOurEntries } from '../../src/k8s/status-merge.js';

const OURS = 'sluice.dev/gateway-controller';
const THEIRS = 'example.com/other';

const cond = (type: string, status: string, reason: string, time: string) => ({ type, status, reason, message: '', lastTransitionTime: time, observedGeneration: 1 });

t.test('route parents: ours replaced in place, theirs kept, stale ours dropped, new ours appended', async (t) => {
  const live = {
    parents: [
      { parentRef: { name: 'a' }, controllerName: OURS, conditions: [cond('Accepted', 'True', 'Accepted', 'T0')] },
      { parentRef: { name: 'x' }, controllerName: THEIRS, conditions: [cond('Accepted', 'True', 'Accepted', 'T0')] },
      { parentRef: { name: 'gone' }, controllerName: OURS, conditions: [] },
    ],
  };
  const desired = {
    parents: [
      { parentRef: { name: 'b' }, controllerName: OURS, conditions: [cond('Accepted', 'True', 'Accepted', 'T1')] },
      { parentRef: { name: 'a' }, controllerName: OURS, conditions: [cond('Accepted', 'False', 'NotAllowedByListeners', 'T1')] },
    ],
  };
  const merged = mergeStatus('HTTPRoute', live, desired, OURS) as { parents: Array<{ parentRef: { name: string }; controllerName: string; conditions: Array<{ lastTransitionTime: string }> }> };
  t.same(merged.parents.map((p) => p.parentRef.name), ['a', 'x', 'b']);
  t.equal(merged.parents[1]!.controllerName, THEIRS);
  t.equal(merged.parents[0]!.conditions[0]!.lastTransitionTime, 'T1', 'status flipped: new time');
});

t.test('lastTransitionTime is kept when the status did not flip', async (t) => {
  const live = { conditions: [cond('Accepted', 'True', 'Accepted', 'T0'), cond('Programmed', 'False', 'Pending', 'T0')], listeners: [{ name: 'http', conditions: [cond('Programmed', 'True', 'Programmed', 'T0')] }] };
  const desired = { conditions: [cond('Accepted', 'True', 'Accepted', 'T9'), cond('Programmed', 'True', 'Programmed', 'T9')], listeners: [{ name: 'http', conditions: [cond('Programmed', 'True', 'Programmed', 'T9')] }] };
  const merged = mergeStatus('Gateway', live, desired, OURS) as typeof desired;
  t.equal(merged.conditions[0]!.lastTransitionTime, 'T0');
  t.equal(merged.conditions[1]!.lastTransitionTime, 'T9');
  t.equal(merged.listeners[0]!.conditions[0]!.lastTransitionTime, 'T0');
});

t.test('parentRefs defaulted by the API server still pair with ours', async (t) => {
  t.ok(refsEqual({ name: 'a', namespace: 'n' }, { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'a', namespace: 'n' }));
  t.notOk(refsEqual({ name: 'a' }, { name: 'a', sectionName: 'http' }));
  const live = { parents: [{ parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'a' }, controllerName: OURS, conditions: [cond('Accepted', 'True', 'Accepted', 'T0')] }] };
  const desired = { parents: [{ parentRef: { name: 'a' }, controllerName: OURS, conditions: [cond('Accepted', 'True', 'Accepted', 'T5')] }] };
  const merged = mergeStatus('HTTPRoute', live, desired, OURS) as typeof desired;
  t.equal(merged.parents.length, 1, 'not duplicated');
  t.equal(merged.parents[0]!.conditions[0]!.lastTransitionTime, 'T0');
});

t.test('BackendTLSPolicy ancestors are shared too', async (t) => {
  const live = { ancestors: [{ ancestorRef: { name: 'g' }, controllerName: THEIRS, conditions: [] }] };
  const desired = { ancestors: [{ ancestorRef: { name: 'g' }, controllerName: OURS, conditions: [] }] };
  const merged = mergeStatus('BackendTLSPolicy', live, desired, OURS) as typeof desired;
  t.same(merged.ancestors.map((a) => a.controllerName), [THEIRS, OURS]);
});

t.test('withoutOurEntries', async (t) => {
  t.equal(withoutOurEntries('HTTPRoute', { parents: [{ controllerName: THEIRS }] }, OURS), undefined, 'nothing of ours');
  t.same(withoutOurEntries('HTTPRoute', { parents: [{ controllerName: THEIRS }, { controllerName: OURS }] }, OURS), { parents: [{ controllerName: THEIRS }] });
  t.equal(withoutOurEntries('Gateway', { conditions: [] }, OURS), undefined, 'not a shared kind');
});

t.test('canonical ignores key order and undefined', async (t) => {
  t.equal(canonical({ b: 1, a: [{ y: 2, x: undefined, z: 1 }] }), canonical({ a: [{ z: 1, y: 2 }], b: 1 }));
  t.not(canonical({ a: [1, 2] }), canonical({ a: [2, 1] }));
  t.same(adoptTransitionTimes(null, {}), null);
});
