import t from 'tap';
import { mergeBindFailures } from '../../src/runner/status-merge.js';
import type { ObjectStatus } from '../../src/translate/status.js';
import { freePort, listener, port, table, testDataPlane, vhost } from '../dataplane/fixtures/helpers.js';

function gatewayStatus(listenerNames: string[]): ObjectStatus {
  const programmed = { type: 'Programmed', status: 'True', reason: 'Programmed', message: '' };
  return {
    kind: 'Gateway',
    namespace: 'default',
    name: 'gw',
    status: {
      conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }, programmed],
      listeners: listenerNames.map((name) => ({ name, conditions: [programmed] })),
    },
  } as unknown as ObjectStatus;
}

function programmedOf(conds: unknown): { status: string; reason: string } {
  const c = (conds as Array<{ type: string; status: string; reason: string }>).find((x) => x.type === 'Programmed');
  if (c === undefined) throw new Error('no Programmed condition');
  return { status: c.status, reason: c.reason };
}

t.test('a Gateway whose address is not on this host is Programmed=False/AddressNotUsable', async (t) => {
  // 203.0.113.0/24 (TEST-NET-3) is never assigned here: bind fails with EADDRNOTAVAIL, no packet is sent.
  const p = await freePort();
  const { dp } = testDataPlane();
  t.teardown(() => dp.close());
  const report = await dp.apply(table([port(p, [listener('http', [vhost('*', [])])], { address: '203.0.113.10' })], []));
  const state = report.listeners['default/gw/http'];
  t.equal(state?.programmed, false);
  t.equal(state?.addressNotUsable, true);
  t.match(state?.message, /203\.0\.113\.10/);

  const [merged] = mergeBindFailures([gatewayStatus(['http'])], report.listeners);
  t.same(programmedOf(merged?.status.conditions), { status: 'False', reason: 'AddressNotUsable' });
  const ls = (merged?.status.listeners as Array<{ conditions: unknown }>)[0];
  t.same(programmedOf(ls?.conditions), { status: 'False', reason: 'PortUnavailable' });
});

t.test('a port in use makes the Gateway Programmed=False/Invalid when no listener is bound', async (t) => {
  const merged = mergeBindFailures([gatewayStatus(['a'])], {
    'default/gw/a': { programmed: false, reason: 'PortUnavailable', message: 'cannot bind: address already in use' },
  });
  t.same(programmedOf(merged[0]?.status.conditions), { status: 'False', reason: 'Invalid' });
});

t.test('one bound listener keeps the Gateway Programmed', async (t) => {
  const merged = mergeBindFailures([gatewayStatus(['a', 'b'])], {
    'default/gw/a': { programmed: false, addressNotUsable: true },
    'default/gw/b': { programmed: true },
  });
  t.same(programmedOf(merged[0]?.status.conditions), { status: 'True', reason: 'Programmed' });
});

t.test('bind failures of ListenerSet listeners land on the ListenerSet, not on a Gateway of the same name', async (t) => {
  const set = { ...gatewayStatus(['a']), kind: 'ListenerSet' } as ObjectStatus;
  const merged = mergeBindFailures([gatewayStatus(['a']), set], {
    'ListenerSet/default/gw/a': { programmed: false, reason: 'PortUnavailable', message: 'cannot bind: address already in use', addressNotUsable: true },
  });
  t.same(programmedOf(merged[0]?.status.conditions), { status: 'True', reason: 'Programmed' }, 'the Gateway is untouched');
  t.same(programmedOf(merged[1]?.status.conditions), { status: 'False', reason: 'Invalid' }, 'AddressNotUsable is a Gateway reason only');
  const ls = (merged[1]?.status.listeners as Array<{ conditions: unknown }>)[0];
  t.same(programmedOf(ls?.conditions), { status: 'False', reason: 'PortUnavailable' });
});
