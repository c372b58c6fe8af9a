import t from 'tap';
import { chooseGatewayResources, missingRequiredKinds, type DiscoveredResource } from '../../src/k8s/discovery.js';
import { collectionPath, objectPath, resourceForKind, CORE_RESOURCES } from '../../src/k8s/resources.js';

const GROUP = 'gateway.networking.k8s.io';
const res = (name: string, kind: string): DiscoveredResource => ({ name, kind, namespaced: kind !== 'GatewayClass', verbs: ['get', 'list', 'watch'] });

t.test('picks the most stable served version per kind', async (t) => {
  const doc = new Map([
    [GROUP, new Map([
      ['v1', [res('gatewayclasses', 'GatewayClass'), res('gateways', 'Gateway'), res('httproutes', 'HTTPRoute'), res('referencegrants', 'ReferenceGrant'), res('tlsroutes', 'TLSRoute')]],
      ['v1beta1', [res('gateways', 'Gateway'), res('referencegrants', 'ReferenceGrant')]],
      ['v1alpha2', [res('tcproutes', 'TCPRoute'), res('tlsroutes', 'TLSRoute'), res('udproutes', 'UDPRoute')]],
      ['v1alpha3', [res('tlsroutes', 'TLSRoute')]],
    ])],
  ]);
  const chosen = chooseGatewayResources(doc);
  t.equal(chosen.get('Gateway')?.version, 'v1');
  t.equal(chosen.get('TLSRoute')?.version, 'v1');
  t.equal(chosen.get('TCPRoute')?.version, 'v1alpha2');
  t.equal(chosen.get('ReferenceGrant')?.version, 'v1');
  t.notOk(chosen.has('GRPCRoute'), 'not served, not watched');
  t.notOk(chosen.has('BackendTLSPolicy'));
  t.equal(chosen.get('GatewayClass')?.namespaced, false);
  t.same(missingRequiredKinds(chosen), []);
});

t.test('ReferenceGrant only served as v1beta1 (older bundles)', async (t) => {
  const doc = new Map([[GROUP, new Map([
    ['v1', [res('gatewayclasses', 'GatewayClass'), res('gateways', 'Gateway'), res('httproutes', 'HTTPRoute')]],
    ['v1beta1', [res('referencegrants', 'ReferenceGrant')]],
  ])]]);
  t.equal(chooseGatewayResources(doc).get('ReferenceGrant')?.version, 'v1beta1');
});

t.test('XListenerSet is a fallback only', async (t) => {
  const x = ['gateway.networking.x-k8s.io', new Map([['v1alpha1', [res('xlistenersets', 'XListenerSet')]]])] as const;
  const withBoth = new Map([[GROUP, new Map([['v1', [res('listenersets', 'ListenerSet')]]])], x]);
  const both = chooseGatewayResources(withBoth);
  t.ok(both.has('ListenerSet'));
  t.notOk(both.has('XListenerSet'));
  const onlyX = chooseGatewayResources(new Map([x]));
  t.equal(onlyX.get('XListenerSet')?.group, 'gateway.networking.x-k8s.io');
  // ListenerSet statuses go wherever ListenerSets are served.
  t.equal(resourceForKind(both, 'ListenerSet')?.plural, 'listenersets');
  t.equal(resourceForKind(onlyX, 'ListenerSet')?.plural, 'xlistenersets');
  t.equal(resourceForKind(onlyX, 'GRPCRoute'), undefined);
});

t.test('missing CRDs are named', async (t) => {
  const chosen = chooseGatewayResources(new Map([[GROUP, new Map([['v1', [res('gateways', 'Gateway')]]])]]));
  t.same(missingRequiredKinds(chosen), ['GatewayClass', 'HTTPRoute', 'ReferenceGrant']);
  t.same(missingRequiredKinds(chooseGatewayResources(new Map())), ['GatewayClass', 'Gateway', 'HTTPRoute', 'ReferenceGrant']);
});

t.test('a resource without list/watch is not usable', async (t) => {
  const doc = new Map([[GROUP, new Map([['v1', [{ name: 'grpcroutes', kind: 'GRPCRoute', namespaced: true, verbs: ['get'] }]]])]]);
  t.notOk(chooseGatewayResources(doc).has('GRPCRoute'));
});

t.test('paths', async (t) => {
  const gw = { kind: 'Gateway', group: GROUP, version: 'v1', plural: 'gateways', namespaced: true };
  t.equal(collectionPath(gw), '/apis/gateway.networking.k8s.io/v1/gateways');
  t.equal(collectionPath(gw, 'echo'), '/apis/gateway.networking.k8s.io/v1/namespaces/echo/gateways');
  t.equal(objectPath(gw, 'echo', 'web', 'status'), '/apis/gateway.networking.k8s.io/v1/namespaces/echo/gateways/web/status');
  t.equal(objectPath(CORE_RESOURCES.Namespace, 'ignored', 'echo'), '/api/v1/namespaces/echo');
  t.equal(collectionPath(CORE_RESOURCES.Lease, 'kube-system'), '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases');
});
