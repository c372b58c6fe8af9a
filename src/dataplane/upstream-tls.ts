import { createHash } from 'node:crypto';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import type { ClusterIR } from '../translate/ir.js';

export type UpstreamTLS = NonNullable<ClusterIR['tls']>;

/**
 * Node TLS client options for a cluster that originates TLS (BackendTLSPolicy):
 * SNI = the policy hostname; trust = the policy CA bundle, or the system roots
 * for wellKnownCA; identity = the hostname, or any one of subjectAltNames when
 * given (DNS names with the usual wildcard rules, URIs compared exactly);
 * the Gateway's backend client certificate when set.
 */
export function upstreamTLSOptions(tls: UpstreamTLS): ConnectionOptions {
  const sans = tls.subjectAltNames;
  const client = tls.clientCertificate;
  return {
    servername: tls.sni,
    rejectUnauthorized: true,
    ...(tls.caPem && !tls.wellKnownCA ? { ca: tls.caPem } : {}),
    ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
    ...(sans && sans.length > 0
      ? {
        checkServerIdentity: (_host: string, cert: PeerCertificate) =>
          sans.some((san) => sanMatches(san, cert)) ? undefined : new Error(`upstream certificate matches none of the subjectAltNames ${sans.join(', ')}`),
      }
      : {}),
  };
}

/** Whether the certificate carries one subjectAltNames entry: a URI (contains ':') exactly, else a DNS name. */
export function sanMatches(san: string, cert: PeerCertificate): boolean {
  if (!san.includes(':')) return checkServerIdentity(san, cert) === undefined;
  return uriSANs(cert.subjectaltname ?? '').includes(san);
}

/**
 * URI entries of Node's `subjectaltname` string ("DNS:a, URI:spiffe://x/y").
 * Entries with commas or quotes are JSON-quoted by Node (`URI:"..."`).
 */
function uriSANs(subjectAltName: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < subjectAltName.length) {
    const colon = subjectAltName.indexOf(':', i);
    if (colon === -1) break;
    const type = subjectAltName.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (subjectAltName[colon + 1] === '"') {
      let end = colon + 2;
      while (end < subjectAltName.length && subjectAltName[end] !== '"') end += subjectAltName[end] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(subjectAltName.slice(colon + 1, end + 1)) as string;
      } catch {
        value = '';
      }
      next = subjectAltName.indexOf(',', end);
    } else {
      next = subjectAltName.indexOf(',', colon);
      value = subjectAltName.slice(colon + 1, next === -1 ? undefined : next);
    }
    if (type === 'URI') out.push(value);
    if (next === -1) break;
    i = next + 1;
  }
  return out;
}

/** Pool key part for a TLS cluster; certificates enter it hashed. */
export function upstreamTLSKey(tls: UpstreamTLS): string {
  const h = createHash('sha256');
  h.update(tls.caPem ?? '');
  h.update('\0');
  h.update(tls.clientCertificate?.certPem ?? '');
  h.update('\0');
  h.update(tls.clientCertificate?.keyPem ?? '');
  return `tls:${tls.sni}|${tls.wellKnownCA ? 1 : 0}|${(tls.subjectAltNames ?? []).join(',')}|${h.digest('base64url')}`;
}
