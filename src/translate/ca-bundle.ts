import { X509Certificate } from 'node:crypto';
import type { ConfigMap } from '../model/objects.js';
import { GATEWAY_GROUP } from '../model/objects.js';
import type { TranslateContext } from './context.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * The CA bundle under a ConfigMap's `ca.crt` key (the Gateway API's CA
 * reference format, for frontend validation and BackendTLSPolicy), or why it
 * cannot be used: a phrase that follows "ConfigMap ns/name" and never quotes
 * the bundle.
 */
function caBundleOf(cm: ConfigMap): { readonly pem: string } | { readonly problem: string } {
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

/** A caCertificateRefs entry (frontend validation, BackendTLSPolicy). */
export interface CARef {
  readonly group?: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/** Why a CA reference cannot be used, by the kind of fault; each caller maps it to its own reason. */
export type CARefFault = 'kind' | 'notPermitted' | 'invalid';

/**
 * The PEM bundle a CA reference points at (a core ConfigMap's `ca.crt`), or
 * why not. A ConfigMap in another namespace needs a ReferenceGrant letting
 * `from` refer to it.
 */
export function resolveCARef(
  ref: CARef,
  from: { readonly kind: string; readonly namespace: string },
  ctx: TranslateContext,
): { readonly source: string; readonly pem: string } | { readonly fault: CARefFault; readonly message: string } {
  const group = ref.group ?? '';
  if (group !== '' || ref.kind !== 'ConfigMap') {
    return { fault: 'kind', message: `unsupported kind ${group === '' ? 'core' : group}/${ref.kind}; only core ConfigMaps are supported` };
  }
  const namespace = ref.namespace ?? from.namespace;
  const allowed = ctx.referenceAllowed(
    { group: GATEWAY_GROUP, kind: from.kind, namespace: from.namespace },
    { group: '', kind: 'ConfigMap', namespace, name: ref.name },
  );
  if (!allowed) return { fault: 'notPermitted', message: `ConfigMap ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows it` };
  const cm = ctx.configMap(namespace, ref.name);
  if (cm === undefined) return { fault: 'invalid', message: `ConfigMap ${namespace}/${ref.name} not found` };
  const bundle = caBundleOf(cm);
  if ('problem' in bundle) return { fault: 'invalid', message: `ConfigMap ${namespace}/${ref.name} ${bundle.problem}` };
  return { source: `${namespace}/${ref.name}`, pem: bundle.pem };
}
