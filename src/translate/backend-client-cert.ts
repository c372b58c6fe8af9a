import type { Gateway } from '../model/objects.js';
import { GATEWAY_GROUP } from '../model/objects.js';
import { checkPair, decodePair } from './certificates.js';
import { Reason } from './conditions.js';
import type { TranslateContext } from './context.js';
import type { CertificateIR } from './ir.js';
import type { Problem } from './types.js';

/** Gateway ResolvedRefs reasons for spec.tls.backend (Go API constants). */
export const BackendClientCertReason = {
  InvalidClientCertificateRef: 'InvalidClientCertificateRef',
  RefNotPermitted: Reason.RefNotPermitted,
  ListenersNotResolved: 'ListenersNotResolved',
} as const;

export type BackendClientCertResolution =
  | { readonly certificate: CertificateIR; readonly problem?: undefined }
  | { readonly certificate?: undefined; readonly problem: Problem }
  | { readonly certificate?: undefined; readonly problem?: undefined };

/**
 * Resolve a Gateway's spec.tls.backend.clientCertificateRef: a core Secret
 * of type kubernetes.io/tls with a matching tls.crt/tls.key; a Secret in
 * another namespace needs a ReferenceGrant from the Gateway. Returns nothing
 * when the Gateway sets no client certificate.
 */
export function resolveBackendClientCertificate(gw: Gateway, gatewayNamespace: string, ctx: TranslateContext): BackendClientCertResolution {
  const ref = gw.spec?.tls?.backend?.clientCertificateRef;
  if (ref === undefined) return {};
  const invalid = (message: string): BackendClientCertResolution => ({ problem: { reason: BackendClientCertReason.InvalidClientCertificateRef, message: `tls.backend.clientCertificateRef: ${message}` } });
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Secret';
  if (group !== '' || kind !== 'Secret') return invalid(`kind ${group === '' ? 'core' : group}/${kind} is not supported; only core Secrets`);
  const namespace = ref.namespace ?? gatewayNamespace;
  const allowed = ctx.referenceAllowed({ group: GATEWAY_GROUP, kind: 'Gateway', namespace: gatewayNamespace }, { group: '', kind: 'Secret', namespace, name: ref.name });
  if (!allowed) {
    return { problem: { reason: BackendClientCertReason.RefNotPermitted, message: `tls.backend.clientCertificateRef: Secret ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows it` } };
  }
  const secret = ctx.secret(namespace, ref.name);
  if (secret === undefined) return invalid(`Secret ${namespace}/${ref.name} not found`);
  if (secret.type !== 'kubernetes.io/tls') return invalid(`Secret ${namespace}/${ref.name} has type ${secret.type ?? 'Opaque'}, not kubernetes.io/tls`);
  const pair = decodePair(secret.data);
  const why = pair === undefined ? 'has no tls.crt and tls.key' : checkPair(pair.certPem, pair.keyPem);
  if (pair === undefined || why !== undefined) return invalid(`Secret ${namespace}/${ref.name} ${why ?? 'is malformed'}`);
  return { certificate: { secret: `${namespace}/${ref.name}`, certPem: pair.certPem, keyPem: pair.keyPem } };
}
