// The pod network on its own (root only, no cluster): two networks side by side get different
// /16s, a pod address answers through the veth, the namespace has no way out, and destroy()
// removes everything.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodNetwork, podNetworkUnavailable } from './kubelet/netns.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const why = podNetworkUnavailable();
if (why) {
  const banner = '#'.repeat(78);
  console.error(`${banner}\n# SKIPPING the pod network tests: ${why}\n${banner}`);
  t.plan(0, why);
} else {
  const ipOut = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

  t.test('two networks, an echo on a pod IP, no route out, clean teardown', async (t) => {
    const a = PodNetwork.create(`ta${process.pid % 10000}`);
    t.teardown(() => a.destroy());
    const b = PodNetwork.create(`tb${process.pid % 10000}`);
    t.teardown(() => b.destroy());
    t.not(a.cidr, b.cidr, 'each network has its own /16');
    t.match(a.cidr, /^10\.(24\d|250)\.0\.0\/16$/);

    const podIP = a.allocate();
    t.ok(podIP.startsWith(a.cidr.split('.').slice(0, 2).join('.') + '.'), `pod IP ${podIP} is in ${a.cidr}`);
    t.not(a.allocate(), podIP, 'addresses are not handed out twice');
    t.notMatch(ipOut('-n', a.namespace, 'route', 'show'), /default/, 'no default route inside the namespace');
    t.notMatch(ipOut('-4', 'addr', 'show'), new RegExp(`inet ${podIP.replaceAll('.', '\\.')}/`), 'the pod IP is not a root-namespace address');

    const [cmd, args] = a.wrap(join(ROOT, 'node_modules', '.bin', 'node'), [join(ROOT, 'dist', 'cli', 'main.js'), 'echo', '--listen', `${podIP}:3000`, '--name', 'veth-pod']);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    t.teardown(() => void child.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (/listening on/.test(d.toString()) ? resolve() : undefined));
      child.once('exit', (code) => reject(new Error(`echo exited with ${code}`)));
    });
    const res = await fetch(`http://${podIP}:3000/hello`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { pod: string; path: string };
    t.equal(body.pod, 'veth-pod', 'the echo inside the namespace answered through the veth');
    t.equal(body.path, '/hello');
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));

    a.destroy();
    t.notMatch(ipOut('netns', 'list'), new RegExp(`^${a.namespace}\\b`, 'm'), 'namespace removed');
    t.notMatch(ipOut('link', 'show'), new RegExp(`${a.hostInterface}[@:]`), 'veth removed');
    t.notMatch(ipOut('-4', 'route', 'show'), new RegExp(a.cidr.replace('.0.0/16', '\\.')), 'route removed');
  });
}
