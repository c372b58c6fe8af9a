import { resolveCertificateRefs } from '../certificates.js';
import { Reason } from '../conditions.js';
import { resolveFrontendValidation } from '../frontend.js';
import { HTTP_ROUTE_KINDS } from './kinds.js';
import type { ProtocolModule } from './types.js';

/** HTTPS listeners: TLS terminated with the listener's certificates, then HTTP routing as on HTTP listeners. */
export const httpsProtocol: ProtocolModule = {
  protocol: 'HTTPS',
  routeKinds: HTTP_ROUTE_KINDS,
  transport: 'tcp',
  distinctBy: 'sni',
  needsCertificates: true,
  resolve(listener, owner, ctx, gateway) {
    const mode = listener.tls?.mode ?? 'Terminate';
    if (mode !== 'Terminate') {
      return {
        tlsMode: 'Terminate',
        acceptProblem: { reason: Reason.UnsupportedValue, message: `tls.mode ${mode} is not valid for an HTTPS listener (only Terminate)` },
      };
    }
    const { certificates, problem } = resolveCertificateRefs(listener, owner, ctx);
    // Client certificate validation (Gateway spec.tls.frontend) applies to HTTPS listeners only.
    const frontend = resolveFrontendValidation(listener, gateway, ctx);
    const refProblem = problem ?? frontend.refProblem;
    return {
      tls: frontend.validation ? { certificates, clientValidation: frontend.validation } : { certificates },
      tlsMode: 'Terminate',
      ...(refProblem ? { refProblem } : {}),
      ...(frontend.acceptProblem ? { acceptProblem: frontend.acceptProblem } : {}),
    };
  },
};
