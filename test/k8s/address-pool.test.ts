import t from 'tap';
import { GatewayAddressPool } from '../../src/k8s/address-pool.js';

t.test('stable, distinct addresses inside the CIDR', async (t) => {
  const pool = new GatewayAddressPool('127.10.0.0/16');
  t.equal(pool.cidr, '127.10.0.0/16');
  const a = pool.addressFor('echo', 'web')!;
  const b = pool.addressFor('infra', 'platform')!;
  t.match(a, /^127\.10\.\d+\.\d+$/);
  t.not(a, b);
  t.equal(pool.addressFor('echo', 'web'), a, 'sticky');
  t.not(a, '127.10.0.0', 'never the network address');
  t.not(a, '127.10.255.255', 'never the broadcast address');
  const again = new GatewayAddressPool('127.10.0.0/16');
  t.equal(again.addressFor('infra', 'platform'), b, 'two controllers agree (hash based)');
});

t.test('collisions probe, exhaustion returns undefined, retain frees', async (t) => {
  const pool = new GatewayAddressPool('127.20.0.0/30');
  t.equal(pool.size, 2);
  const x = pool.addressFor('a', 'x');
  const y = pool.addressFor('a', 'y');
  t.ok(x && y && x !== y);
  t.same([x, y].sort(), ['127.20.0.1', '127.20.0.2']);
  t.equal(pool.addressFor('a', 'z'), undefined, 'exhausted');
  pool.retain([{ namespace: 'a', name: 'y' }]);
  t.ok(pool.addressFor('a', 'z'), 'x released its address');
  t.equal(pool.addressFor('a', 'y'), y, 'kept');
});

t.test('bad CIDRs are usage errors', async (t) => {
  t.throws(() => new GatewayAddressPool('127.0.0.1'), { code: 'ERR_SLUICE_USAGE' });
  t.throws(() => new GatewayAddressPool('::1/128'), { code: 'ERR_SLUICE_USAGE' });
  t.throws(() => new GatewayAddressPool('127.0.0.0/31'), { code: 'ERR_SLUICE_USAGE' });
  t.equal(new GatewayAddressPool('127.10.3.7/16').cidr, '127.10.0.0/16', 'host bits are masked');
});
