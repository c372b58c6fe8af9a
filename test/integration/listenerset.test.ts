// ListenerSet end to end through `sluice run`: listeners a ListenerSet adds
// to a Gateway serve traffic on the Gateway's address (sharing its port, or on
// a port only the ListenerSet declares), routes reach them through a
// ListenerSet parentRef, and a ListenerSet the Gateway does not allow binds
// nothing.
import net from 'node:net';
import t from 'tap';
import { startEcho } from '../../src/echo/index.js';
import { freePort, gatewayYaml, httpGet, httpRouteYaml, serveConfig, serviceYaml } from './harness.js';

const GW_ADDR = '127.0.0.1';

type Cond = { type: string; status: string; reason: string };
interface DumpStatus {
  kind: string;
  namespace: string;
  name: string;
  status: { conditions?: Cond[]; attachedListenerSets?: number; listeners?: Array<{ name: string; attachedRoutes: number }>; parents?: Array<{ parentRef: { kind?: string }; conditions: Cond[] }> };
}

/** Whether a TCP connection to the port is accepted. */
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: GW_ADDR, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

t.test('ListenerSet listeners serve routes attached to the ListenerSet; a not-allowed ListenerSet binds nothing', async (t) => {
  const lsEcho = await startEcho({ listen: '127.0.0.1:0', name: 'ls-echo', namespace: 'default', quiet: true });
  const gwEcho = await startEcho({ listen: '127.0.0.1:0', name: 'gw-echo', namespace: 'default', quiet: true });
  const shared = await freePort(GW_ADDR);
  const own = await freePort(GW_ADDR);
  const refused = await freePort(GW_ADDR);
  t.teardown(async () => {
    await lsEcho.close();
    await gwEcho.close();
  });
  const { sluice } = await serveConfig(t, `
${gatewayYaml('gw', [{ name: 'web', protocol: 'HTTP', port: shared, hostname: 'gw.example.com' }], {
  address: GW_ADDR,
  extraSpec: '  allowedListeners: { namespaces: { from: Same } }\n',
})}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: { name: team-a, namespace: default }
spec:
  parentRef: { name: gw }
  listeners:
    - { name: web, protocol: HTTP, port: ${shared}, hostname: ls.example.com }
    - { name: extra, protocol: HTTP, port: ${own} }
---
apiVersion: v1
kind: Namespace
metadata: { name: elsewhere }
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: { name: intruder, namespace: elsewhere }
spec:
  parentRef: { name: gw, namespace: default }
  listeners:
    - { name: web, protocol: HTTP, port: ${refused} }
${httpRouteYaml('ls-route', 'ls-echo', { parent: { listenerSet: 'team-a' } })}
${httpRouteYaml('gw-route', 'gw-echo')}
${serviceYaml('ls-echo', 'default', '127.0.0.1', lsEcho.ports.http!)}
${serviceYaml('gw-echo', 'default', '127.0.0.1', gwEcho.ports.http!)}`);

  const viaSet = await httpGet(`http://${GW_ADDR}:${shared}/a`, { host: 'ls.example.com' });
  t.equal(viaSet.status, 200, 'the ListenerSet listener shares the Gateway port');
  t.equal(viaSet.json().pod, 'ls-echo', 'served by the route attached to the ListenerSet');

  const viaGateway = await httpGet(`http://${GW_ADDR}:${shared}/a`, { host: 'gw.example.com' });
  t.equal(viaGateway.status, 200);
  t.equal(viaGateway.json().pod, 'gw-echo', 'the Gateway listener keeps the Gateway route');

  const unknownHost = await httpGet(`http://${GW_ADDR}:${shared}/a`, { host: 'other.example.com' });
  t.equal(unknownHost.status, 404, 'no listener for other hostnames');

  const ownPort = await httpGet(`http://${GW_ADDR}:${own}/b`, { host: 'anything.example.com' });
  t.equal(ownPort.status, 200, 'a port only the ListenerSet declares is bound on the Gateway address');
  t.equal(ownPort.json().pod, 'ls-echo', 'a Gateway parentRef does not reach ListenerSet listeners');

  t.notOk(await connects(refused), 'the not-allowed ListenerSet binds nothing');

  const dump = await httpGet(`${sluice.admin}/config_dump`);
  t.equal(dump.status, 200);
  const statuses = dump.json<{ statuses?: DumpStatus[] }>().statuses ?? [];
  const find = (kind: string, namespace: string, name: string): DumpStatus | undefined =>
    statuses.find((s) => s.kind === kind && s.namespace === namespace && s.name === name);
  const cond = (s: DumpStatus | undefined, type: string): Cond | undefined => s?.status.conditions?.find((c) => c.type === type);

  const gw = find('Gateway', 'default', 'gw');
  t.equal(gw?.status.attachedListenerSets, 1, 'the Gateway counts one attached ListenerSet');
  t.same(gw?.status.listeners?.map((l) => l.name), ['web'], 'Gateway status lists only its own listeners');

  const teamA = find('ListenerSet', 'default', 'team-a');
  t.match(cond(teamA, 'Accepted'), { status: 'True', reason: 'Accepted' });
  t.match(cond(teamA, 'Programmed'), { status: 'True', reason: 'Programmed' });
  t.same(teamA?.status.listeners?.map((l) => [l.name, l.attachedRoutes]), [['web', 1], ['extra', 1]]);

  const intruder = find('ListenerSet', 'elsewhere', 'intruder');
  t.match(cond(intruder, 'Accepted'), { status: 'False', reason: 'NotAllowed' });
  t.match(cond(intruder, 'Programmed'), { status: 'False', reason: 'NotAllowed' });

  const route = find('HTTPRoute', 'default', 'ls-route');
  t.equal(route?.status.parents?.[0]?.parentRef.kind, 'ListenerSet', 'route status is keyed by the ListenerSet parentRef');
  t.match(route?.status.parents?.[0]?.conditions.find((c) => c.type === 'Accepted'), { status: 'True' });
});
