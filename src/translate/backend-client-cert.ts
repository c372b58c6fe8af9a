import type { Gateway } from '../model/objects.js';
import { resolveTLSSecretRef } from './certificates.js';
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
  const resolved = resolveTLSSecretRef(ref, { kind: 'Gateway', namespace: gatewayNamespace }, ctx);
  if ('certificate' in resolved) return { certificate: resolved.certificate };
  const reason = resolved.notPermitted ? BackendClientCertReason.RefNotPermitted : BackendClientCertReason.InvalidClientCertificateRef;
  return { problem: { reason, message: `tls.backend.clientCertificateRef: ${resolved.message}` } };
}
