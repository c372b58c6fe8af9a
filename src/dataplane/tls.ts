import { createHash, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { CertificateIR } from '../translate/ir.js';
import type { CompiledListener, PortTls, ServingCert } from './compiled.js';
import type { HostIndex } from './hostindex.js';
import { normalizeHost } from './hostindex.js';

/** TLS settings every HTTPS listener gets. */
export const SERVER_TLS_OPTIONS = {
  minVersion: 'TLSv1.2',
  // The per-certificate contexts offer HTTP/1.1; the HTTPS port server adds h2 (src/dataplane/h2/front.ts).
  ALPNProtocols: ['http/1.1'],
} as const;

/**
 * SecureContexts keyed by certificate content, so a reload with the same
 * Secret reuses the context and a rotated Secret gets a new one. Entries
 * the newest table did not use are dropped at the next prune().
 */
export class TlsContextCache {
  #entries = new Map<string, ServingCert>();
  #used = new Set<string>();

  contextsFor(certs: readonly CertificateIR[]): { certs: ServingCert[]; error?: string } {
    const out: ServingCert[] = [];
    let error: string | undefined;
    for (const c of certs) {
      const key = createHash('sha256').update(c.certPem).update('\0').update(c.keyPem).digest('hex');
      let entry = this.#entries.get(key);
      if (entry === undefined) {
        try {
          const context = createSecureContext({ cert: c.certPem, key: c.keyPem, ...SERVER_TLS_OPTIONS });
          let x509: X509Certificate | undefined;
          try {
            x509 = new X509Certificate(c.certPem);
          } catch {
            x509 = undefined;
          }
          entry = { context, x509, cacheKey: key, certPem: c.certPem, keyPem: c.keyPem };
          this.#entries.set(key, entry);
        } catch (err) {
          // Never log PEM contents: only the Secret's name and OpenSSL's reason.
          error = `certificate from Secret ${c.secret} cannot be used: ${(err as Error).message}`;
          continue;
        }
      }
      this.#used.add(key);
      out.push(entry);
    }
    return error === undefined ? { certs: out } : { certs: out, error };
  }

  /** Forget contexts the last compiled table did not use. */
  prune(): void {
    for (const key of this.#entries.keys()) if (!this.#used.has(key)) this.#entries.delete(key);
    this.#used = new Set();
  }

  get size(): number {
    return this.#entries.size;
  }
}

const SNI_CACHE_MAX = 4096;

/**
 * SNI -> certificate for one HTTPS port: the listener is chosen by hostname
 * (exact, then wildcard longest first, then catch-all); within it the first
 * certificate whose names cover the SNI, else its first certificate.
 */
export function buildPortTls(listeners: HostIndex<CompiledListener>, ordered: readonly CompiledListener[]): PortTls {
  const cache = new Map<string, SecureContext | null>();
  let fallback: ServingCert | undefined;
  for (let i = ordered.length - 1; i >= 0 && fallback === undefined; i--) fallback = ordered[i].certs[0];
  return {
    fallback,
    contextFor(servername: string): SecureContext | undefined {
      const name = normalizeHost(servername);
      const hit = cache.get(name);
      if (hit !== undefined) return hit ?? undefined;
      const listener = listeners.lookup(name);
      let chosen: ServingCert | undefined;
      if (listener !== undefined && listener.certs.length > 0) {
        chosen = listener.certs.find((c) => c.x509?.checkHost(name) !== undefined) ?? listener.certs[0];
      }
      if (cache.size >= SNI_CACHE_MAX) cache.clear();
      cache.set(name, chosen?.context ?? null);
      return chosen?.context;
    },
  };
}
