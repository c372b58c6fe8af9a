import type { Gateway } from '../model/objects.js';
import { resolveCARef, type CARefFault } from './ca-bundle.js';
import type { TranslateContext } from './context.js';
import { Reason } from './conditions.js';
import type { ClientValidationIR } from './ir.js';
import type { GatewayState, ListenerSpec, Problem } from './types.js';

type FrontendTLS = NonNullable<NonNullable<Gateway['spec']['tls']>['frontend']>;
type FrontendValidation = NonNullable<FrontendTLS['default']['validation']>;

export interface FrontendValidationResolution {
  /** Set when at least one CA reference resolved. */
  readonly validation?: ClientValidationIR;
  /** The first invalid reference, for ResolvedRefs=False. */
  readonly refProblem?: Problem;
  /** Set when every reference is invalid: the listener is not Accepted (NoValidCACertificate). */
  readonly acceptProblem?: Problem;
}

/**
 * The frontend (client certificate) validation that applies to an HTTPS
 * listener: the Gateway's spec.tls.frontend perPort entry for the listener's
 * port, else its default. Undefined when neither sets `validation`.
 */
function validationFor(gw: Gateway, port: number): { validation: FrontendValidation; where: string } | undefined {
  const frontend = gw.spec?.tls?.frontend;
  if (frontend === undefined) return undefined;
  const i = (frontend.perPort ?? []).findIndex((p) => p.port === port);
  if (i >= 0) {
    const v = frontend.perPort![i].tls?.validation;
    return v === undefined ? undefined : { validation: v, where: `spec.tls.frontend.perPort[${i}].tls.validation` };
  }
  const v = frontend.default?.validation;
  return v === undefined ? undefined : { validation: v, where: 'spec.tls.frontend.default.validation' };
}

/**
 * Resolve the CA references of the validation that applies to this HTTPS
 * listener. Core support: ConfigMaps with the PEM bundle under `ca.crt`; a
 * ConfigMap in another namespace needs a ReferenceGrant from the Gateway.
 * Invalid references are reported (the first one) and left out; the valid
 * ones are still used, so a listener never falls back to "no validation"
 * while some CA is configured.
 */
export function resolveFrontendValidation(listener: ListenerSpec, gateway: GatewayState, ctx: TranslateContext): FrontendValidationResolution {
  const found = validationFor(gateway.obj, listener.port);
  if (found === undefined) return {};
  const { validation, where } = found;
  const sources: string[] = [];
  const caPems: string[] = [];
  let refProblem: Problem | undefined;
  const refs = validation.caCertificateRefs ?? [];
  const reasons: Record<CARefFault, string> = {
    kind: Reason.InvalidCACertificateKind,
    notPermitted: Reason.RefNotPermitted,
    invalid: Reason.InvalidCACertificateRef,
  };
  refs.forEach((ref, i) => {
    const resolved = resolveCARef(ref, { kind: 'Gateway', namespace: gateway.namespace }, ctx);
    if ('fault' in resolved) {
      refProblem ??= { reason: reasons[resolved.fault], message: `${where}.caCertificateRefs[${i}]: ${resolved.message}` };
      return;
    }
    sources.push(resolved.source);
    caPems.push(resolved.pem);
  });
  const mode = validation.mode === 'AllowInsecureFallback' ? 'AllowInsecureFallback' : 'AllowValidOnly';
  if (caPems.length === 0) {
    const problem = refProblem ?? { reason: Reason.InvalidCACertificateRef, message: `${where}.caCertificateRefs is empty` };
    return {
      refProblem: problem,
      acceptProblem: { reason: Reason.NoValidCACertificate, message: `no valid CA certificate for client validation: ${problem.message}` },
    };
  }
  const resolved: FrontendValidationResolution = { validation: { sources, caPems, mode } };
  return refProblem === undefined ? resolved : { ...resolved, refProblem };
}

/** Whether the Gateway's default or any perPort validation allows insecure fallback (the Gateway then says so in a condition). */
export function usesInsecureFallback(gw: Gateway): boolean {
  const frontend = gw.spec?.tls?.frontend;
  if (frontend === undefined) return false;
  if (frontend.default?.validation?.mode === 'AllowInsecureFallback') return true;
  return (frontend.perPort ?? []).some((p) => p.tls?.validation?.mode === 'AllowInsecureFallback');
}
