import { createHash, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import type { CertificateIR, ClientValidationIR } from '../translate/ir.js';
import type { ClientAuth, CompiledListener, PortTls, ServingCert } from './compiled.js';
import type { HostIndex } from './hostindex.js';
import { normalizeHost } from './hostindex.js';

/** TLS settings every HTTPS listener gets. */
export const SERVER_TLS_OPTIONS = {
  minVersion: 'TLSv1.2',
  // The per-certificate contexts offer HTTP/1.1; the HTTPS port server adds h2 (src/dataplane/h2/front.ts).
  ALPNProtocols: ['http/1.1'],
} as const;

/** Session id context of contexts that do not validate clients (OpenSSL caps it at 32 bytes). */
const PLAIN_SESSION_ID_CONTEXT = createHash('sha256').update('sluice:no-client-validation').digest('hex').slice(0, 32);

/** The compiled form of a listener's client validation: the CA set's identity doubles as session id context. */
export function compileClientAuth(v: ClientValidationIR | undefined): ClientAuth | undefined {
  if (v === undefined || v.caPems.length === 0) return undefined;
  const h = createHash('sha256').update('sluice:client-validation');
  for (const pem of v.caPems) h.update('\0').update(pem);
  return { mode: v.mode, key: h.digest('hex').slice(0, 32), sources: v.sources };
}

/**
 * SecureContexts keyed by certificate content (and client CAs), so a reload with the same
 * Secret reuses the context and a rotated Secret gets a new one. Entries
 * the newest table did not use are dropped at the next prune().
 */
export class TlsContextCache {
  #entries = new Map<string, ServingCert>();
  #used = new Set<string>();

  contextsFor(certs: readonly CertificateIR[], validation?: { readonly caPems: readonly string[]; readonly auth: ClientAuth }): { certs: ServingCert[]; error?: string } {
    const out: ServingCert[] = [];
    let error: string | undefined;
    const sessionIdContext = validation?.auth.key ?? PLAIN_SESSION_ID_CONTEXT;
    for (const c of certs) {
      const key = createHash('sha256').update(c.certPem).update('\0').update(c.keyPem).update('\0').update(sessionIdContext).digest('hex');
      let entry = this.#entries.get(key);
      if (entry === undefined) {
        try {
          const caPems = validation?.caPems;
          const context = createSecureContext({
            cert: c.certPem,
            key: c.keyPem,
            ...(caPems ? { ca: [...caPems] } : {}),
            sessionIdContext,
            ...SERVER_TLS_OPTIONS,
          });
          let x509: X509Certificate | undefined;
          try {
            x509 = new X509Certificate(c.certPem);
          } catch {
            x509 = undefined;
          }
          entry = { context, x509, cacheKey: key, certPem: c.certPem, keyPem: c.keyPem, caPems, sessionIdContext };
          this.#entries.set(key, entry);
        } catch (err) {
          // Never log PEM contents: only the Secret's name and OpenSSL's reason.
          error = validation
            ? `certificate from Secret ${c.secret} with client CAs from ${validation.auth.sources.join(', ')} cannot be used: ${(err as Error).message}`
            : `certificate from Secret ${c.secret} cannot be used: ${(err as Error).message}`;
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
  let fallbackListener: CompiledListener | undefined;
  for (let i = ordered.length - 1; i >= 0 && fallback === undefined; i--) {
    fallback = ordered[i].certs[0];
    if (fallback !== undefined) fallbackListener = ordered[i];
  }
  return {
    fallback,
    requestCert: ordered.some((l) => l.clientAuth !== undefined),
    connectionListener(servername) {
      if (typeof servername !== 'string' || servername === '') return fallbackListener;
      const listener = listeners.lookup(normalizeHost(servername));
      return listener !== undefined && listener.certs.length > 0 ? listener : fallbackListener;
    },
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

/**
 * Whether a finished handshake may go on to HTTP: refused when the listener
 * whose context served it accepts only valid client certificates and the
 * client presented none or one its CAs do not verify. (Node verifies during
 * the handshake but, with requestCert and no rejectUnauthorized, leaves the
 * decision to us: that is what lets listeners of one port differ.)
 */
export function clientAllowed(tls: PortTls | undefined, socket: TLSSocket): boolean {
  if (tls === undefined || !tls.requestCert) return true;
  const listener = tls.connectionListener(socket.servername);
  return listener?.clientAuth?.mode !== 'AllowValidOnly' || socket.authorized;
}

/**
 * Whether a request routed (by Host) to `listener` arrived on a connection
 * whose handshake validated the client the way that listener requires: same
 * CA set, certificate verified. A connection made through another listener's
 * SNI, without SNI, or before the listener required certificates does not
 * qualify.
 */
export function requestClientVerified(tls: PortTls, listener: CompiledListener, socket: TLSSocket): boolean {
  const auth = listener.clientAuth;
  if (auth === undefined || auth.mode !== 'AllowValidOnly') return true;
  return socket.authorized === true && tls.connectionListener(socket.servername)?.clientAuth?.key === auth.key;
}
