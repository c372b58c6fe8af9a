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
    const resolved = resolveTLSSecretRef(ref, owner, ctx);
    if ('certificate' in resolved) certificates.push(resolved.certificate);
    else problem ??= { reason: resolved.notPermitted ? Reason.RefNotPermitted : Reason.InvalidCertificateRef, message: `tls.certificateRefs[${i}]: ${resolved.message}` };
  });
  return problem === undefined ? { certificates } : { certificates, problem };
}

/** A reference to a TLS Secret: a listener's certificateRef or a Gateway's backend client certificate. */
export interface TLSSecretRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
}

/**
 * The PEM pair of a core Secret of type kubernetes.io/tls, or why it cannot be
 * used: `notPermitted` when it is in another namespace and no ReferenceGrant
 * lets `from` refer to it. Messages name the Secret and never quote it.
 */
export function resolveTLSSecretRef(
  ref: TLSSecretRef,
  from: { readonly kind: string; readonly namespace: string },
  ctx: TranslateContext,
): { readonly certificate: CertificateIR } | { readonly notPermitted: boolean; readonly message: string } {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Secret';
  if (group !== '' || kind !== 'Secret') {
    return { notPermitted: false, message: `unsupported reference kind ${group === '' ? 'core' : group}/${kind}; only core Secrets are supported` };
  }
  const namespace = ref.namespace ?? from.namespace;
  const allowed = ctx.referenceAllowed(
    { group: GATEWAY_GROUP, kind: from.kind, namespace: from.namespace },
    { group: '', kind: 'Secret', namespace, name: ref.name },
  );
  if (!allowed) return { notPermitted: true, message: `Secret ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows it` };
  const secret = ctx.secret(namespace, ref.name);
  if (secret === undefined) return { notPermitted: false, message: `Secret ${namespace}/${ref.name} not found` };
  if (secret.type !== 'kubernetes.io/tls') {
    return { notPermitted: false, message: `Secret ${namespace}/${ref.name} has type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls` };
  }
  const pair = decodePair(secret.data);
  const invalid = pair === undefined ? 'has no tls.crt and tls.key' : checkPair(pair.certPem, pair.keyPem);
  if (pair === undefined || invalid !== undefined) return { notPermitted: false, message: `Secret ${namespace}/${ref.name} ${invalid ?? 'is malformed'}` };
  return { certificate: { secret: `${namespace}/${ref.name}`, certPem: pair.certPem, keyPem: pair.keyPem } };
}

function decodePair(data: Readonly<Record<string, string>> | undefined): { certPem: string; keyPem: string } | undefined {
  const crt = data?.['tls.crt'];
  const key = data?.['tls.key'];
  if (!crt || !key) return undefined;
  return { certPem: Buffer.from(crt, 'base64').toString('utf8'), keyPem: Buffer.from(key, 'base64').toString('utf8') };
}

/** Why a PEM pair cannot be served (never quoting the contents), or undefined when it is fine. */
function checkPair(certPem: string, keyPem: string): string | undefined {
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
