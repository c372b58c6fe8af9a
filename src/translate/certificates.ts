import { createPrivateKey, X509Certificate } from 'node:crypto';
import { GATEWAY_GROUP } from '../model/objects.js';
import type { TranslateContext } from './context.js';
import { Reason } from './conditions.js';
import type { CertificateIR } from './ir.js';
import type { ListenerOwner, ListenerSpec, Problem } from './types.js';

export interface CertificateResolution {
  readonly certificates: readonly CertificateIR[];
  /** The first problem found, for ResolvedRefs=False. */
  readonly problem?: Problem;
}

/**
 * Resolve a listener's tls.certificateRefs to PEM pairs. Only core Secrets of
 * type kubernetes.io/tls are supported; a reference into another namespace
 * needs a ReferenceGrant from the owner (the Gateway, or the ListenerSet that
 * declares the listener). Certificates that cannot be used
 * are left out and reported; the valid ones are still served.
 */
export function resolveCertificateRefs(listener: ListenerSpec, owner: ListenerOwner, ctx: TranslateContext): CertificateResolution {
  const certificates: CertificateIR[] = [];
  let problem: Problem | undefined;
  const refs = listener.tls?.certificateRefs ?? [];
  if (refs.length === 0) {
    return { certificates, problem: { reason: Reason.InvalidCertificateRef, message: 'tls.certificateRefs is empty; a Terminate listener needs a certificate' } };
  }
  refs.forEach((ref, i) => {
    const group = ref.group ?? '';
    const kind = ref.kind ?? 'Secret';
    const namespace = ref.namespace ?? owner.namespace;
    const where = `tls.certificateRefs[${i}]`;
    const fail = (reason: string, message: string): void => {
      problem ??= { reason, message: `${where}: ${message}` };
    };
    if (group !== '' || kind !== 'Secret') {
      fail(Reason.InvalidCertificateRef, `unsupported reference kind ${group === '' ? 'core' : group}/${kind}; only core Secrets are supported`);
      return;
    }
    const allowed = ctx.referenceAllowed(
      { group: GATEWAY_GROUP, kind: owner.kind, namespace: owner.namespace },
      { group: '', kind: 'Secret', namespace, name: ref.name },
    );
    if (!allowed) {
      fail(Reason.RefNotPermitted, `Secret ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows it`);
      return;
    }
    const secret = ctx.secret(namespace, ref.name);
    if (secret === undefined) {
      fail(Reason.InvalidCertificateRef, `Secret ${namespace}/${ref.name} not found`);
      return;
    }
    if (secret.type !== 'kubernetes.io/tls') {
      fail(Reason.InvalidCertificateRef, `Secret ${namespace}/${ref.name} has type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls`);
      return;
    }
    const pair = decodePair(secret.data);
    const invalid = pair === undefined ? 'has no tls.crt and tls.key' : checkPair(pair.certPem, pair.keyPem);
    if (pair === undefined || invalid !== undefined) {
      fail(Reason.InvalidCertificateRef, `Secret ${namespace}/${ref.name} ${invalid ?? 'is malformed'}`);
      return;
    }
    certificates.push({ secret: `${namespace}/${ref.name}`, certPem: pair.certPem, keyPem: pair.keyPem });
  });
  return problem === undefined ? { certificates } : { certificates, problem };
}

export function decodePair(data: Readonly<Record<string, string>> | undefined): { certPem: string; keyPem: string } | undefined {
  const crt = data?.['tls.crt'];
  const key = data?.['tls.key'];
  if (!crt || !key) return undefined;
  return { certPem: Buffer.from(crt, 'base64').toString('utf8'), keyPem: Buffer.from(key, 'base64').toString('utf8') };
}

/** Why a PEM pair cannot be served (never quoting the contents), or undefined when it is fine. */
export function checkPair(certPem: string, keyPem: string): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return 'has a tls.crt that is not a PEM certificate';
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return 'has a tls.key that is not a PEM private key';
  }
  if (!cert.checkPrivateKey(key)) return 'has a tls.key that does not match its tls.crt';
  return undefined;
}
