import t from 'tap';
import { UpstreamRegistry, HttpUpstream } from '../../src/dataplane/upstreams.js';
import { NativeH1Upstream } from '../../src/dataplane/h1client.js';
import { H2cUpstream } from '../../src/dataplane/h2c.js';
import { silentLogger } from '../../src/util/log.js';
import type { ClusterIR } from '../../src/translate/ir.js';

const ep = { address: '127.0.0.1', port: 1 };
const http1: ClusterIR = { id: 'a', protocol: 'http1', endpoints: [ep] };

t.test('pools are shared across table versions and closed after a grace period when unused', async (t) => {
  const reg = new UpstreamRegistry({ logger: silentLogger(), graceMs: 50, connections: 4 });
  reg.begin();
  const first = reg.get(http1, ep);
  reg.commit();
  reg.begin();
  const again = reg.get({ ...http1, id: 'renamed-cluster' }, ep);
  reg.commit();
  t.equal(again, first, 'same protocol and address:port -> the same pool, whatever the cluster is called');
  t.ok(first instanceof HttpUpstream);

  reg.begin();
  const h2 = reg.get({ id: 'g', protocol: 'h2c', endpoints: [ep] }, ep);
  t.ok(h2 instanceof H2cUpstream, 'h2c is a different pool for the same address');
  reg.commit();
  t.equal(reg.size, 2, 'the unused http1 pool is still there during the grace period');
  // Taken back before the grace period ends: not closed.
  reg.begin();
  t.equal(reg.get(http1, ep), first);
  reg.get({ id: 'g', protocol: 'h2c', endpoints: [ep] }, ep);
  reg.commit();
  await new Promise((r) => setTimeout(r, 120));
  t.equal(reg.size, 2, 'reacquired pools survive');
  t.equal((first as HttpUpstream).pool.closed, false);

  reg.begin();
  reg.commit();
  await new Promise((r) => setTimeout(r, 120));
  t.equal(reg.size, 0, 'unreferenced pools are dropped after the grace period');
  t.equal((first as HttpUpstream).pool.closed, true, 'and closed');
  await reg.closeAll();
});

t.test('the native client is used for plain HTTP only', async (t) => {
  const reg = new UpstreamRegistry({ logger: silentLogger(), graceMs: 50, connections: 4, client: 'native' });
  reg.begin();
  t.ok(reg.get(http1, ep) instanceof NativeH1Upstream);
  t.ok(reg.get({ ...http1, tls: { sni: 'x.test' } }, ep) instanceof HttpUpstream, 'TLS upstreams keep undici');
  reg.commit();
  await reg.closeAll();
});
