import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { createDevCA, tlsSecret } from '../util/devcert.js';
import { startEcho } from '../echo/index.js';
import { startGateway } from './run.js';

/**
 * `npm start`: serve examples/quickstart.yaml with its two echo backends, all
 * in this process, and print what to try. The HTTPS listener's Secret is made
 * here from a fresh development CA, so nothing secret is committed.
 */
async function quickstart(): Promise<void> {
  const example = fileURLToPath(new URL('../../examples/quickstart.yaml', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sluice-quickstart-'));
  symlinkSync(example, join(dir, 'quickstart.yaml'));
  const ca = createDevCA('Sluice quickstart CA');
  const leaf = ca.issue(['localhost', 'secure.localhost', '127.0.0.1']);
  writeFileSync(join(dir, 'quickstart-tls.yaml'), stringify(tlsSecret('quickstart-tls', 'default', leaf)));
  writeFileSync(join(dir, 'ca.pem'), ca.certPem);

  const backends = await Promise.all([
    startEcho({ listen: '127.0.0.1:9081', name: 'echo-v1', namespace: 'default', quiet: true }),
    startEcho({ listen: '127.0.0.1:9082', name: 'echo-v2', namespace: 'default', quiet: true }),
  ]);
  const gateway = await startGateway({ config: dir, admin: process.env.SLUICE_ADMIN ?? '127.0.0.1:9901' });
  const admin = `http://${gateway.admin.address}:${gateway.admin.port}`;

  process.stderr.write(`
Sluice is serving examples/quickstart.yaml (edit it: changes apply live).
Echo backends: echo-v1 on 127.0.0.1:9081, echo-v2 on 127.0.0.1:9082.

Try:
  curl -s http://127.0.0.1:8080/hello                      # 95% echo-v1, 5% echo-v2 ("pod" in the JSON), header foo: bar added
  curl -s -H 'version: 2' http://127.0.0.1:8080/v2/x       # header match -> echo-v2
  curl -si -H 'Host: secure.localhost' http://127.0.0.1:8080/  # 301 to https://secure.localhost:8443/
  curl -s --cacert ${join(dir, 'ca.pem')} --resolve secure.localhost:8443:127.0.0.1 https://secure.localhost:8443/
  ${'for i in $(seq 100); do curl -s http://127.0.0.1:8080/ | grep -o \'"pod": "[^"]*"\'; done | sort | uniq -c'}
Admin: ${admin}/readyz  ${admin}/metrics  ${admin}/config_dump
Status: ./bin/sluice check --config ${dir}
Access log: one JSON line per request below. Ctrl-C stops.

`);

  const stop = (): void => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    void (async () => {
      await gateway.stop();
      await Promise.all(backends.map((b) => b.close()));
      rmSync(dir, { recursive: true, force: true });
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

quickstart().catch((err: unknown) => {
  process.stderr.write(`sluice quickstart: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
