import t from 'tap';
import { buildSnapshot } from '../../src/store/build.js';
import { translate } from '../../src/translate/index.js';
import type { ListenerIR, RouteTable } from '../../src/translate/ir.js';
import type { ObjectStatus } from '../../src/translate/status.js';
import { readObjects } from '../golden/harness.js';

const options = { controllerName: 'sluice.dev/gateway-controller' };

function run(yaml: string): { table: RouteTable; statuses: readonly ObjectStatus[] } {
  return translate(buildSnapshot(readObjects(yaml)), options);
}

function listenerIR(table: RouteTable, name: string): ListenerIR | undefined {
  for (const p of table.ports) for (const l of p.listeners) if (l.name === name) return l;
  return undefined;
}

function parents(statuses: readonly ObjectStatus[], kind: string, name: string): { parentRef: Record<string, unknown>; conditions: { type: string; status: string; reason: string }[] }[] {
  const s = statuses.find((x) => x.kind === kind && x.name === name);
  return (s?.status.parents ?? []) as never;
}

const svc = (name: string, port: number, protocol = 'TCP', extra = ''): string => `---
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec: { ${extra}ports: [{ name: p, port: ${port}, protocol: ${protocol} }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${name}-1, namespace: default, labels: { kubernetes.io/service-name: ${name} } }
addressType: IPv4
ports: [{ name: p, port: ${port}, protocol: ${protocol} }]
endpoints: [{ addresses: ["10.9.0.1"] }]
`;

t.test('two parentRefs reaching one listener place the route once, with a status per parentRef', async (t) => {
  const { table, statuses } = run(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec: { gatewayClassName: sluice, listeners: [{ name: tcp, port: 7000, protocol: TCP }] }
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: r }
spec:
  parentRefs: [{ name: gw, sectionName: tcp }, { name: gw, port: 7000 }]
  rules: [{ backendRefs: [{ name: b, port: 80 }] }]
${svc('b', 80)}`);
  t.equal(listenerIR(table, 'tcp')?.l4Routes.length, 1, 'placed once');
  const ps = parents(statuses, 'TCPRoute', 'r');
  t.equal(ps.length, 2, 'one status entry per parentRef');
  t.ok(ps.every((p) => p.conditions[0].type === 'Accepted' && p.conditions[0].status === 'True'));
  const gw = statuses.find((s) => s.kind === 'Gateway');
  t.equal((gw?.status.listeners as { attachedRoutes: number }[])[0].attachedRoutes, 1, 'counted once');
});

t.test('L4 clusters: raw tcp/udp clusters next to the HTTP cluster of the same Service port; ExternalName', async (t) => {
  const { table } = run(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: sluice
  listeners:
    - { name: http, port: 80, protocol: HTTP }
    - { name: tcp, port: 7000, protocol: TCP }
    - { name: ext, port: 7001, protocol: TCP }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web }
spec: { parentRefs: [{ name: gw, sectionName: http }], rules: [{ backendRefs: [{ name: b, port: 80 }] }] }
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: raw }
spec: { parentRefs: [{ name: gw, sectionName: tcp }], rules: [{ backendRefs: [{ name: b, port: 80 }] }] }
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: external }
spec: { parentRefs: [{ name: gw, sectionName: ext }], rules: [{ backendRefs: [{ name: db, port: 5432 }] }] }
---
apiVersion: v1
kind: Service
metadata: { name: db, namespace: default }
spec: { type: ExternalName, externalName: db.example.net }
${svc('b', 80)}`);
  t.same(Object.keys(table.clusters), ['default/b:80', 'default/b:80/tcp', 'default/db:5432/tcp']);
  t.equal(table.clusters['default/b:80'].protocol, 'http1');
  t.equal(table.clusters['default/b:80/tcp'].protocol, 'tcp');
  t.same(table.clusters['default/db:5432/tcp'].endpoints, [{ address: 'db.example.net', port: 5432 }], 'ExternalName resolved by the data plane');
});

t.test('UDPRoute across namespaces needs a ReferenceGrant for UDPRoutes', async (t) => {
  const base = (grantKind: string): string => `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec: { gatewayClassName: sluice, listeners: [{ name: udp, port: 5300, protocol: UDP, allowedRoutes: { namespaces: { from: All } } }] }
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata: { name: dns, namespace: apps }
spec: { parentRefs: [{ name: gw, namespace: default }], rules: [{ backendRefs: [{ name: coredns, namespace: kube-system, port: 53 }] }] }
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: g, namespace: kube-system }
spec:
  from: [{ group: gateway.networking.k8s.io, kind: ${grantKind}, namespace: apps }]
  to: [{ group: "", kind: Service }]
---
apiVersion: v1
kind: Service
metadata: { name: coredns, namespace: kube-system }
spec: { ports: [{ name: dns, port: 53, protocol: UDP }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: coredns-1, namespace: kube-system, labels: { kubernetes.io/service-name: coredns } }
addressType: IPv4
ports: [{ name: dns, port: 5353, protocol: UDP }]
endpoints: [{ addresses: ["10.96.0.10"] }]
`;
  const granted = run(base('UDPRoute'));
  t.same(parents(granted.statuses, 'UDPRoute', 'dns')[0].conditions.map((c) => `${c.type}=${c.status}`), ['Accepted=True', 'ResolvedRefs=True']);
  t.same(granted.table.clusters['kube-system/coredns:53/udp']?.endpoints, [{ address: '10.96.0.10', port: 5353 }]);
  const wrongKind = run(base('TCPRoute'));
  const c = parents(wrongKind.statuses, 'UDPRoute', 'dns')[0].conditions;
  t.equal(c[1].reason, 'RefNotPermitted');
  t.same(listenerIR(wrongKind.table, 'udp')?.l4Routes[0].backends, [{ weight: 1, invalid: 'RefNotPermitted', filters: [] }], 'kept as an invalid backend');
});

t.test('a TLSRoute on two TLS listeners gets each listener\'s hostname intersection', async (t) => {
  const { table } = run(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec:
  gatewayClassName: sluice
  listeners:
    - { name: a, port: 443, protocol: TLS, hostname: "*.a.example.com", tls: { mode: Passthrough } }
    - { name: any, port: 8443, protocol: TLS, tls: { mode: Passthrough } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: { name: r }
spec: { parentRefs: [{ name: gw }], hostnames: ["*.example.com", "x.a.example.com"], rules: [{ backendRefs: [{ name: b, port: 443 }] }] }
${svc('b', 443)}`);
  t.same(listenerIR(table, 'a')?.l4Routes[0].hostnames, ['*.a.example.com', 'x.a.example.com'], 'narrowed to the listener');
  t.same(listenerIR(table, 'any')?.l4Routes[0].hostnames, ['*.example.com', 'x.a.example.com'], 'as written on a listener without hostname');
});

t.test('the L4 part of the table is deterministic and frozen', async (t) => {
  const yaml = `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: gw }
spec: { gatewayClassName: sluice, listeners: [{ name: tcp, port: 7000, protocol: TCP }, { name: udp, port: 7000, protocol: UDP }] }
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: r2, creationTimestamp: "2026-01-02T00:00:00Z" }
spec: { parentRefs: [{ name: gw, sectionName: tcp }], rules: [{ backendRefs: [{ name: b, port: 80 }] }] }
---
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: r1, creationTimestamp: "2026-01-01T00:00:00Z" }
spec: { parentRefs: [{ name: gw, sectionName: tcp }], rules: [{ backendRefs: [{ name: b, port: 80 }] }] }
${svc('b', 80)}`;
  const a = run(yaml).table;
  const b = run(yaml).table;
  t.equal(a.version, b.version, 'same content hash');
  t.same(a.ports.map((p) => `${p.port}/${p.protocol}`), ['7000/TCP', '7000/UDP'], 'TCP and UDP ports apart, in a stable order');
  t.same(listenerIR(a, 'tcp')?.l4Routes.map((r) => r.ref.name), ['r1', 'r2'], 'oldest route first');
  t.ok(Object.isFrozen(listenerIR(a, 'tcp')?.l4Routes), 'frozen');
});
