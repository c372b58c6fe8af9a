import { X509Certificate } from 'node:crypto';
import type { ConfigMap } from '../model/objects.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The CA bundle under a ConfigMap's `ca.crt` key (the Gateway API's CA
 * reference format, for frontend validation and BackendTLSPolicy), or why it
 * cannot be used: a phrase that follows "ConfigMap ns/name" and never quotes
 * the bundle.
 */
export function caBundleOf(cm: ConfigMap): { readonly pem: string } | { readonly problem: string } {
  const pem = cm.data?.['ca.crt'];
  if (pem === undefined || pem.trim() === '') return { problem: 'has no ca.crt' };
  const blocks = pem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return { problem: 'has a ca.crt with no PEM certificate' };
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return { problem: `has a ca.crt whose certificate #${i + 1} cannot be parsed` };
    }
  }
  return { pem };
}
