// `node test/conformance/kubelet/main.ts --kubeconfig K --client-ca CA [--state-dir D] [--network-tag T]`
//
// Runs the fake kubelet with its own pod network until SIGTERM/SIGINT. Prints one line
// `READY {json}` on stdout once the Node is registered (fields: node, port, namespace, cidr,
// hostIP, stateDir); logs go to stderr. On exit it stops every pod process, and removes the
// network namespace, the veth pair and the state directory.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeApi } from './kube-api.ts';
import { FakeKubelet } from './kubelet.ts';
import { PodNetwork, podNetworkUnavailable } from './netns.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      'client-ca': { type: 'string' },
      'state-dir': { type: 'string' },
      'node-name': { type: 'string' },
      'network-tag': { type: 'string' },
      'kubelet-version': { type: 'string' },
    },
  });
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG;
  if (!kubeconfig || !values['client-ca']) {
    process.stderr.write('usage: main.ts --kubeconfig FILE --client-ca CA.pem [--state-dir DIR] [--node-name N] [--network-tag T]\n');
    return 2;
  }
  const why = podNetworkUnavailable();
  if (why) {
    process.stderr.write(`fake kubelet: cannot create the pod network: ${why}\n`);
    return 3;
  }
  const ownState = !values['state-dir'];
  const stateDir = values['state-dir'] ?? mkdtempSync(join(tmpdir(), 'sluice-kubelet-'));
  const api = new KubeApi(kubeconfig);
  const network = PodNetwork.create(values['network-tag']);
  const kubelet = new FakeKubelet({
    api,
    network,
    root: ROOT,
    stateDir,
    clientCA: readFileSync(values['client-ca']),
    nodeName: values['node-name'],
    kubeletVersion: values['kubelet-version'],
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      try {
        await kubelet.stop();
      } finally {
        network.destroy();
        api.close();
        if (ownState) rmSync(stateDir, { recursive: true, force: true });
      }
    })());
  const done = new Promise<void>((resolveDone) => {
    const onSignal = (): void => void stop().then(resolveDone, resolveDone);
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });

  try {
    await kubelet.start();
  } catch (err) {
    process.stderr.write(`fake kubelet: start failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await stop();
    return 1;
  }
  process.stdout.write(
    `READY ${JSON.stringify({ node: kubelet.nodeName, port: kubelet.port, namespace: network.namespace, cidr: network.cidr, hostIP: network.hostIP, stateDir })}\n`,
  );
  await done;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fake kubelet: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
