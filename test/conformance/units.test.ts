// Unit tests of the conformance harness pieces that need no cluster: the whoami DNS responder,
// image mapping, $(VAR) expansion and path rewriting, container log reads, results rendering.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answer, parseCorefile } from './kubelet/dns.ts';
import { echoBasicListeners, imageName, localProcessFor } from './kubelet/images.ts';
import { expandVars, pathRewriter } from './kubelet/pod-spec.ts';
import { ContainerLog } from './kubelet/container-log.ts';
import { PodSpecError } from './kubelet/errors.ts';
import { failureExcerpt, parseRootCauses } from './results.ts';

const COREFILE = `.:53 {
    forward . 8.8.8.8 9.9.9.9
    log
    errors
}
foo.bar.com:53 {
  whoami
}
`;

function query(id: number, name: string, type = 1): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4);
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, ...labels, Buffer.from([0]), tail]);
}

t.test('Corefile server blocks', async (t) => {
  const blocks = parseCorefile(COREFILE);
  t.same(blocks.map((b) => ({ zones: b.zones, port: b.port })), [
    { zones: ['.'], port: 53 },
    { zones: ['foo.bar.com'], port: 53 },
  ]);
  t.ok(blocks[1]!.plugins.includes('whoami'));
  t.notOk(blocks[0]!.plugins.includes('whoami'));
});

t.test('whoami answers its zone and refuses everything else', async (t) => {
  const blocks = parseCorefile(COREFILE);
  const reply = answer(query(0xbeef, 'www.foo.bar.com'), { address: '10.240.0.1', port: 40000 }, blocks)!;
  t.equal(reply.readUInt16BE(0), 0xbeef, 'same id');
  t.equal(reply[2]! & 0x80, 0x80, 'a response');
  t.equal(reply[2]! & 0x04, 0x04, 'authoritative');
  t.equal(reply[3]! & 0x0f, 0, 'NOERROR');
  t.equal(reply.readUInt16BE(6), 0, 'empty answer section, like whoami');
  t.equal(reply.readUInt16BE(10), 2, 'A + SRV in the additional section');
  t.ok(reply.includes(Buffer.from([10, 240, 0, 1])), 'the client address as an A record');
  const port = Buffer.alloc(2);
  port.writeUInt16BE(40000);
  t.ok(reply.includes(port), 'the client port in the SRV record');

  const refused = answer(query(7, 'example.org'), { address: '10.240.0.1', port: 1 }, blocks)!;
  t.equal(refused[3]! & 0x0f, 5, 'REFUSED: the forward zone is never forwarded');
  t.equal(answer(Buffer.from([1, 2, 3]), { address: '1.2.3.4', port: 1 }, blocks), undefined, 'garbage is dropped');
});

t.test('the DNS responder answers over UDP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-dns-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { writeFileSync } = await import('node:fs');
  const { spawn } = await import('node:child_process');
  const conf = join(dir, 'Corefile');
  // A loopback address of its own and a high port (53 needs no privileges on 127/8 as root,
  // but tests should not depend on that).
  const addr = `127.0.${Math.floor(Math.random() * 200) + 20}.${Math.floor(Math.random() * 200) + 20}`;
  const port = 20000 + Math.floor(Math.random() * 10000);
  writeFileSync(conf, COREFILE.replaceAll(':53', `:${port}`));
  const child = spawn(process.execPath, [new URL('./kubelet/dns.ts', import.meta.url).pathname, '-conf', conf, '--bind', addr], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => (/listening on/.test(d.toString()) ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`dns.ts exited with ${code}`)));
  });
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const reply = await new Promise<Buffer>((resolve) => {
    sock.once('message', (m: Buffer) => resolve(m));
    sock.send(query(42, 'foo.bar.com'), port, addr);
  });
  t.equal(reply.readUInt16BE(0), 42);
  t.equal(reply[3]! & 0x0f, 0, 'NOERROR');
  t.equal(reply.readUInt16BE(10), 2, 'two additional records');
  t.ok(reply.includes(Buffer.from([127, 0, 0, 1])), 'the client address is reported');
});

t.test('image names and stand-ins', async (t) => {
  t.equal(imageName('registry.k8s.io/gateway-api/echo-basic:v1.5.1'), 'gateway-api/echo-basic');
  t.equal(imageName('registry.k8s.io/coredns/coredns:v1.12.2'), 'coredns/coredns');
  t.equal(imageName('localhost:5000/gateway-api/echo-basic@sha256:abc'), 'gateway-api/echo-basic');
  t.equal(echoBasicListeners({}), 2, 'HTTP + h2c');
  t.equal(echoBasicListeners({ TLS_SERVER_CERT: '/c', TLS_SERVER_PRIVKEY: '/k' }), 3, 'plus HTTPS');
  t.equal(echoBasicListeners({ GRPC_ECHO_SERVER: '1' }), 1);
  t.equal(echoBasicListeners({ TCP_ECHO_SERVER: '1', TLS_SERVER_CERT: '/c', TLS_SERVER_PRIV_KEY: '/k' }), 2);
  t.equal(echoBasicListeners({ UDP_ECHO_SERVER: '1' }), 1);
  const echo = localProcessFor('registry.k8s.io/gateway-api/echo-basic:v1.6.0-dev.2', { root: '/r', podIP: '10.240.1.9', env: { POD_NAME: 'p' }, args: [], command: [] });
  t.equal(echo.env.ECHO_BIND_ADDRESS, '10.240.1.9', 'echo binds its pod IP');
  t.equal(echo.env.POD_NAME, 'p');
  t.same(echo.args.slice(-1), ['echo']);
  const dns = localProcessFor('registry.k8s.io/coredns/coredns:v1.12.2', { root: '/r', podIP: '10.240.1.3', env: {}, args: ['-conf', '/pods/x/volumes/conf/Corefile'], command: [] });
  t.same(dns.args.slice(1), ['-conf', '/pods/x/volumes/conf/Corefile', '--bind', '10.240.1.3']);
  t.throws(() => localProcessFor('nginx:latest', { root: '/r', podIP: '10.240.1.3', env: {}, args: [], command: [] }), PodSpecError);
});

t.test('$(VAR) expansion and container paths', async (t) => {
  t.equal(expandVars('$(A)-$(B)-$$(A)-$(MISSING)', { A: 'x', B: 'y' }), 'x-y-$(A)-$(MISSING)');
  const rewrite = pathRewriter(
    { name: 'c', image: 'i', volumeMounts: [{ name: 'secret-volume', mountPath: '/etc/secret-volume' }, { name: 'conf', mountPath: '/root' }, { name: 'one', mountPath: '/etc/one.pem', subPath: 'ca.crt' }] },
    new Map([['secret-volume', '/pods/a/volumes/secret-volume'], ['conf', '/pods/a/volumes/conf'], ['one', '/pods/a/volumes/one']]),
  );
  t.equal(rewrite('/etc/secret-volume/crt'), '/pods/a/volumes/secret-volume/crt');
  t.equal(rewrite('/root/Corefile'), '/pods/a/volumes/conf/Corefile');
  t.equal(rewrite('/etc/one.pem'), '/pods/a/volumes/one/ca.crt');
  t.equal(rewrite('/rootless'), '/rootless', 'only whole path components match');
  t.equal(rewrite('1'), '1');
  t.throws(() => pathRewriter({ name: 'c', image: 'i', volumeMounts: [{ name: 'nope', mountPath: '/x' }] }, new Map()), PodSpecError);
});

t.test('container logs: sinceTime, tailLines, timestamps, partial lines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-log-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = new ContainerLog(join(dir, 'c.log'));
  t.same(log.write('stdout', 'one\ntw'), ['one']);
  t.same(log.write('stdout', 'o\n'), ['two']);
  log.write('stderr', 'oops');
  log.flush();
  t.equal(log.read(), 'one\ntwo\noops\n');
  t.equal(log.read({ tailLines: 1 }), 'oops\n');
  t.equal(log.read({ sinceTime: new Date(Date.now() + 60_000) }), '', 'nothing after the future');
  t.equal(log.read({ sinceTime: new Date(Date.now() - 60_000) }), 'one\ntwo\noops\n');
  t.match(log.read({ timestamps: true, tailLines: 1 }), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z oops\n$/);
  t.equal(log.read({ limitBytes: 5 }), 'one\nt');
});

t.test('results: root-cause notes and failure excerpts', async (t) => {
  const notes = parseRootCauses('# Root causes\n\nintro\n\n## HTTPRouteFoo\nRoot cause: x\n\n## GatewayBar\n\nRoot cause: y\n');
  t.same([...notes.entries()], [['HTTPRouteFoo', 'Root cause: x'], ['GatewayBar', 'Root cause: y']]);
  const excerpt = failureExcerpt([
    '=== RUN   TestConformance/X',
    '    helpers.go:10: 2026-01-01T00:00:00Z: waiting for things',
    '    Error Trace:	/x/y.go:1',
    '    Error:      	Received unexpected error:',
    '                	timed out waiting for the condition',
    '--- FAIL: TestConformance/X (1.00s)',
  ]);
  t.ok(excerpt.some((l) => l.includes('Received unexpected error')));
  t.ok(excerpt.some((l) => l.includes('timed out')));
  t.notOk(excerpt.some((l) => l.includes('=== RUN')));
});

t.test('results.ts --count prints the passed and failed tests of a run, for the CI line', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-count-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const base = { features: [], provisional: false, parallel: false, seconds: 1 };
  const file = join(dir, 'results.json');
  writeFileSync(file, JSON.stringify([
    { ...base, name: 'A', result: 'passed' },
    { ...base, name: 'B', result: 'passed' },
    { ...base, name: 'C', result: 'failed' },
    { ...base, name: 'D', result: 'not-supported' },
    { ...base, name: 'E', result: 'skipped' },
  ]));
  const out = execFileSync(process.execPath, [join(import.meta.dirname, 'results.ts'), '--count', file], { encoding: 'utf8' });
  t.equal(out, '2 1\n');
});
