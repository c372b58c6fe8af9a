import t from 'tap';
import {
  desiredEndpointSlice, desiredService, endpointSliceEqual, gatewayPods, gatewayServiceName, hostNetworkAddresses,
  listenerPorts, servicePatch, serviceAddresses, MANAGED_LABELS_ANNOTATION, type GatewayServiceConfig,
} from '../../src/k8s/gateway-service.js';
import type { Gateway } from '../../src/model/objects.js';
import type { RouteTable } from '../../src/translate/ir.js';

const config: GatewayServiceConfig = {
  type: 'LoadBalancer',
  controllerName: 'sluice.dev/gateway-controller',
  gatewayApiVersion: 'gateway.networking.k8s.io/v1',
  annotations: { 'chart/default': 'yes', 'overridden': 'by-chart' },
};

const gw = (infra?: { labels?: Record<string, string>; annotations?: Record<string, string> }): Gateway => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'echo', namespace: 'echo', uid: 'uid-1' },
  spec: { gatewayClassName: 'sluice', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }], ...(infra ? { infrastructure: infra } : {}) },
});

const listener = (ns: string, name: string) => ({ id: `${ns}/${name}/l`, gateway: { namespace: ns, name }, name: 'l', protocol: 'HTTP' as const, virtualHosts: [], l4Routes: [] });
const table: RouteTable = {
  version: 'v',
  clusters: {},
  ports: [
    { address: '', port: 443, protocol: 'HTTPS', listeners: [listener('echo', 'echo')] },
    { address: '', port: 80, protocol: 'HTTP', listeners: [listener('echo', 'echo'), listener('other', 'gw')] },
    { address: '127.0.0.5', port: 80, protocol: 'HTTP', listeners: [listener('echo', 'echo')] },
    { address: '', port: 53, protocol: 'UDP', listeners: [listener('echo', 'echo')] },
    { address: '', port: 8080, protocol: 'HTTP', listeners: [listener('other', 'gw')] },
  ],
};

t.test('names fit a DNS label', async (t) => {
  t.equal(gatewayServiceName('echo'), 'sluice-echo');
  const long = gatewayServiceName('x'.repeat(80));
  t.ok(long.length <= 63);
  t.match(long, /^sluice-x+-[0-9a-f]{8}$/);
  t.not(long, gatewayServiceName('x'.repeat(81)), 'distinct long names stay distinct');
});

t.test('ports come from the route table, deduplicated', async (t) => {
  t.same(listenerPorts(table, { namespace: 'echo', name: 'echo' }), [
    { name: 'udp-53', port: 53, protocol: 'UDP' },
    { name: 'tcp-80', port: 80, protocol: 'TCP' },
    { name: 'tcp-443', port: 443, protocol: 'TCP' },
  ]);
  t.same(listenerPorts(undefined, { namespace: 'echo', name: 'echo' }), []);
});

t.test('desired Service: selector-less, owned by the Gateway, infrastructure propagated (cilium#25357)', async (t) => {
  const svc = desiredService(gw({ labels: { team: 'a' }, annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'echo.example.com', overridden: 'by-gateway' } }), listenerPorts(table, { namespace: 'echo', name: 'echo' }), config);
  t.equal(svc.metadata?.name, 'sluice-echo');
  t.equal(svc.metadata?.namespace, 'echo');
  t.equal(svc.metadata?.labels?.['gateway.networking.k8s.io/gateway-name'], 'echo');
  t.equal(svc.metadata?.labels?.team, 'a');
  t.equal(svc.metadata?.annotations?.['external-dns.alpha.kubernetes.io/hostname'], 'echo.example.com');
  t.equal(svc.metadata?.annotations?.overridden, 'by-gateway', 'Gateway infrastructure wins over chart defaults');
  t.equal(svc.metadata?.annotations?.['chart/default'], 'yes');
  t.same(svc.metadata?.ownerReferences, [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'echo', uid: 'uid-1', controller: true }]);
  const spec = svc.spec as { type: string; selector?: unknown; ports: unknown[] };
  t.equal(spec.type, 'LoadBalancer');
  t.equal(spec.selector, undefined);
  t.same(spec.ports[1], { name: 'tcp-80', port: 80, targetPort: 80, protocol: 'TCP' });
});

t.test('servicePatch: no-op, label removal, nodePorts kept', async (t) => {
  const ports = listenerPorts(table, { namespace: 'echo', name: 'echo' });
  const first = desiredService(gw({ labels: { team: 'a' } }), ports, config);
  // What the server returns: our object plus fields it or others filled in.
  const live = {
    ...first,
    metadata: { ...first.metadata, resourceVersion: '7', labels: { ...first.metadata!.labels, 'added-by-someone': 'x' } },
    spec: { ...(first.spec as object), clusterIP: '10.96.0.9', ports: (first.spec as { ports: object[] }).ports.map((p, i) => ({ ...p, nodePort: 30000 + i })) },
  };
  t.equal(servicePatch(live, first), undefined, 'nothing to do');

  const second = desiredService(gw({ labels: { tier: 'b' } }), ports.slice(1), config);
  const patch = servicePatch(live, second) as { metadata: { labels: Record<string, string | null>; resourceVersion: string }; spec: { ports: Array<{ port: number; nodePort?: number }> } };
  t.equal(patch.metadata.labels.team, null, 'label we set earlier is removed');
  t.equal(patch.metadata.labels.tier, 'b');
  t.notOk('added-by-someone' in patch.metadata.labels, 'foreign labels untouched');
  t.equal(patch.metadata.resourceVersion, '7', 'optimistic concurrency');
  t.same(patch.spec.ports.map((p) => [p.port, p.nodePort]), [[80, 30001], [443, 30002]]);

  const clusterIP = servicePatch(live, desiredService(gw({ labels: { team: 'a' } }), ports, { ...config, type: 'ClusterIP' })) as { spec: { type: string; ports: Array<{ nodePort?: number }> } };
  t.equal(clusterIP.spec.type, 'ClusterIP');
  t.notOk(clusterIP.spec.ports.some((p) => p.nodePort), 'no nodePorts on ClusterIP');
  t.ok(live.metadata.annotations?.[MANAGED_LABELS_ANNOTATION]?.includes('team'));
});

const pod = (name: string, ip: string | undefined, ready: boolean, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: 'sluice-system', uid: `uid-${name}`, ...extra },
  spec: { nodeName: `node-${name}` },
  status: { phase: ip ? 'Running' : 'Pending', podIP: ip, hostIP: ip ? `192.0.2.${ip.split('.')[3]}` : undefined, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

t.test('pods, EndpointSlice and addresses', async (t) => {
  const pods = gatewayPods([pod('b', '10.0.0.2', true), pod('a', '10.0.0.1', false), pod('c', undefined, false), pod('d', 'fd00::1', true), pod('e', '10.0.0.5', true, { deletionTimestamp: 'now' })]);
  t.same(pods.map((p) => p.name), ['a', 'b', 'e'], 'running IPv4 pods, sorted');
  const ports = listenerPorts(table, { namespace: 'echo', name: 'echo' });
  const svc = { ...desiredService(gw(), ports, config), metadata: { ...desiredService(gw(), ports, config).metadata, uid: 'svc-uid' } };
  const slice = desiredEndpointSlice(svc, gw(), pods, ports, config.controllerName);
  t.equal(slice.metadata?.labels?.['kubernetes.io/service-name'], 'sluice-echo');
  t.equal(slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'sluice.dev.gateway-controller');
  const eps = slice.endpoints as Array<{ addresses: string[]; conditions: { ready: boolean; terminating: boolean } }>;
  t.same(eps.map((e) => [e.addresses[0], e.conditions.ready, e.conditions.terminating]), [['10.0.0.1', false, false], ['10.0.0.2', true, false], ['10.0.0.5', false, true]]);
  t.ok(endpointSliceEqual({ ...slice, metadata: { ...slice.metadata, resourceVersion: '3' } }, slice));
  t.notOk(endpointSliceEqual({ ...slice, endpoints: [] }, slice));
  t.same(hostNetworkAddresses(pods), [{ type: 'IPAddress', value: '192.0.2.2' }], 'only ready, not terminating');
});

t.test('serviceAddresses', async (t) => {
  t.same(serviceAddresses(undefined), []);
  t.same(serviceAddresses({ spec: { type: 'LoadBalancer', clusterIP: '10.96.0.3' } }), [], 'pending load balancer: no address yet');
  t.same(serviceAddresses({ spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com' }, { ip: '203.0.113.7' }] } } }), [
    { type: 'IPAddress', value: '203.0.113.7' },
    { type: 'Hostname', value: 'lb.example.com' },
  ]);
  t.same(serviceAddresses({ spec: { type: 'ClusterIP', clusterIP: '10.96.0.3' } }), [{ type: 'IPAddress', value: '10.96.0.3' }]);
});
