import t from 'tap';
import { parseArgs } from 'node:util';
import { kubernetesOptionsFromArgs, parsePairs } from '../../src/k8s/cli.js';
import { KUBERNETES_RUN_OPTIONS } from '../../src/k8s/cli-options.js';

const common = { admin: '127.0.0.1:0', controllerName: 'sluice.dev/gateway-controller', drainMs: 1000 };

t.test('flags map onto startKubernetesGateway options', async (t) => {
  const { values } = parseArgs({
    args: ['--kubernetes', '--kubeconfig', '/tmp/kc', '--namespace', 'sluice-system', '--gateway-address-pool', '127.10.0.0/16',
      '--service-type', 'ClusterIP', '--service-annotation', 'a=b', '--service-annotation', 'x=y=z', '--pod-selector', 'app=s,tier=gw', '--host-network'],
    options: KUBERNETES_RUN_OPTIONS,
    strict: true,
  });
  const o = kubernetesOptionsFromArgs(values, common);
  t.equal(o.kubeconfig, '/tmp/kc');
  t.equal(o.namespace, 'sluice-system');
  t.equal(o.gatewayAddressPool, '127.10.0.0/16');
  t.equal(o.serviceType, 'ClusterIP');
  t.same(o.serviceAnnotations, { a: 'b', x: 'y=z' });
  t.same(o.podSelector, { app: 's', tier: 'gw' });
  t.equal(o.hostNetwork, true);
  t.equal(o.admin, '127.0.0.1:0');
});

t.test('defaults and errors', async (t) => {
  const o = kubernetesOptionsFromArgs({}, common);
  t.equal(o.serviceType, 'LoadBalancer');
  t.equal(o.hostNetwork, false);
  t.throws(() => kubernetesOptionsFromArgs({ 'service-type': 'Ingress' }, common), { code: 'ERR_SLUICE_USAGE' });
  t.throws(() => kubernetesOptionsFromArgs({ 'gateway-address-pool': 'nope' }, common), { code: 'ERR_SLUICE_USAGE' });
  t.throws(() => parsePairs(['novalue'], '--pod-selector'), { code: 'ERR_SLUICE_USAGE' });
  t.equal(kubernetesOptionsFromArgs({ ebpf: 'auto' }, common).ebpf, 'auto');
  t.equal(kubernetesOptionsFromArgs({}, common).ebpf, undefined);
  t.throws(() => kubernetesOptionsFromArgs({ ebpf: 'maybe' }, common), { code: 'ERR_SLUICE_USAGE' });
  t.equal(kubernetesOptionsFromArgs({}, { ...common, tcpIdleTimeoutMs: 30_000 }).tcpIdleTimeoutMs, 30_000, '--tcp-idle-timeout reaches Kubernetes mode');
});
