import type { PeerCertificate } from 'node:tls';
import t from 'tap';
import { sanMatches, upstreamTLSKey } from '../../src/dataplane/upstream-tls.js';

const cert = (subjectaltname: string): PeerCertificate => ({ subjectaltname, subject: { CN: 'x' } } as unknown as PeerCertificate);

t.test('URI SANs are compared exactly, DNS SANs with wildcard rules', async (t) => {
  const c = cert('DNS:abc.example.com, URI:spiffe://abc.example.com/test-identity, DNS:*.wild.example.com');
  t.ok(sanMatches('spiffe://abc.example.com/test-identity', c));
  t.notOk(sanMatches('spiffe://abc.example.com/test', c), 'a prefix is not a match');
  t.notOk(sanMatches('spiffe://def.example.com/test-identity', c));
  t.ok(sanMatches('abc.example.com', c));
  t.ok(sanMatches('a.wild.example.com', c));
  t.notOk(sanMatches('def.example.com', c));
  t.notOk(sanMatches('spiffe://abc.example.com/test-identity', cert('DNS:abc.example.com')), 'no URI SAN at all');
});

t.test('quoted URI SANs (commas inside) are unquoted', async (t) => {
  const c = cert('URI:"spiffe://a.example.com/x,y", DNS:b.example.com');
  t.ok(sanMatches('spiffe://a.example.com/x,y', c));
  t.ok(sanMatches('b.example.com', c));
});

t.test('pool keys change with the CA, SANs and client certificate', async (t) => {
  const base = { sni: 'a.example.com', caPem: 'CA1' };
  const k = upstreamTLSKey(base);
  t.equal(upstreamTLSKey({ ...base }), k);
  t.not(upstreamTLSKey({ ...base, caPem: 'CA2' }), k);
  t.not(upstreamTLSKey({ ...base, subjectAltNames: ['b.example.com'] }), k);
  t.not(upstreamTLSKey({ ...base, clientCertificate: { secret: 'ns/c', certPem: 'C', keyPem: 'K' } }), k);
  t.notMatch(upstreamTLSKey({ ...base, clientCertificate: { secret: 'ns/c', certPem: 'C', keyPem: 'SECRETKEY' } }), /SECRETKEY/, 'key material never appears in the key');
});
