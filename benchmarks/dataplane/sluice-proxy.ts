/**
 * A Sluice data plane on a hand-built route table, for benchmarks:
 * one HTTP listener, host + path prefix + one header match, one upstream.
 *
 *   node benchmarks/dataplane/sluice-proxy.ts --listen 127.0.0.1:8090 --upstream 127.0.0.1:9000 [--access-log] [--hosts N] [--client undici|native]
 *
 * Requests must carry `Host: svc-<N-1>.example.com` and `x-canary: true` and a path under /api.
 * Needs a build (`npm run build`): it imports the compiled data plane from dist/.
 */
import { parseArgs } from 'node:util';
import { DataPlane } from '../../dist/dataplane/index.js';
import { silentLogger } from '../../dist/util/log.js';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '127.0.0.1:8090' },
    upstream: { type: 'string', default: '127.0.0.1:9000' },
    'access-log': { type: 'boolean', default: false },
    hosts: { type: 'string', default: '1000' },
    client: { type: 'string', default: 'undici' },
  },
});
const [listenHost, listenPort] = splitHostPort(values.listen);
const [upHost, upPort] = splitHostPort(values.upstream);
const hosts = Number(values.hosts);

function splitHostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
}

const backends = [{ cluster: 'default/upstream:80', weight: 1, filters: [] }];
const vhosts = [];
for (let i = 0; i < hosts; i++) {
  const ref = (ruleIndex: number) => ({ kind: 'HTTPRoute' as const, namespace: 'default', name: `svc-${i}`, ruleIndex, matchIndex: 0 });
  vhosts.push({
    hostname: `svc-${i}.example.com`,
    routes: [
      { ref: ref(0), match: { path: { type: 'Exact' as const, value: '/healthz' }, headers: [], queryParams: [] }, action: { filters: [], backends } },
      {
        ref: ref(1),
        match: { path: { type: 'PathPrefix' as const, value: '/api' }, headers: [{ type: 'Exact' as const, name: 'x-canary', value: 'true' }], queryParams: [] },
        action: { filters: [], backends },
      },
      { ref: ref(2), match: { path: { type: 'PathPrefix' as const, value: '/api' }, headers: [], queryParams: [] }, action: { filters: [], backends } },
      { ref: ref(3), match: { path: { type: 'PathPrefix' as const, value: '/' }, headers: [], queryParams: [] }, action: { filters: [], backends } },
    ],
  });
}

const dp = new DataPlane({
  logger: silentLogger(),
  upstreamClient: values.client === 'native' ? 'native' : 'undici',
  ...(values['access-log'] ? {} : { accessLog: false as const }),
});
const report = await dp.apply({
  version: 'bench',
  ports: [{
    address: listenHost,
    port: listenPort,
    protocol: 'HTTP',
    listeners: [{
      id: 'default/bench/http', gateway: { namespace: 'default', name: 'bench' }, name: 'http', protocol: 'HTTP', virtualHosts: vhosts, l4Routes: [],
    }],
  }],
  clusters: { 'default/upstream:80': { id: 'default/upstream:80', protocol: 'http1', endpoints: [{ address: upHost, port: upPort }] } },
});
process.stderr.write(`sluice bench proxy on ${values.listen} -> ${values.upstream}: ${JSON.stringify(report.listeners)}\n`);
process.on('SIGTERM', () => {
  void dp.close().then(() => process.exit(0));
});
process.on('SIGINT', () => {
  void dp.close().then(() => process.exit(0));
});
