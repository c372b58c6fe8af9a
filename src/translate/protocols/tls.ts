import { resolveCertificateRefs } from '../certificates.js';
import { Reason } from '../conditions.js';
import { GATEWAY_GROUP } from '../../model/objects.js';
import type { ProtocolModule } from './types.js';

/**
 * TLS listeners carry TLSRoutes, chosen by the ClientHello SNI. Passthrough
 * forwards the encrypted stream untouched; Terminate ends TLS with the
 * listener's certificates and forwards plaintext TCP. TLS listeners share a
 * port with each other and with HTTPS listeners (told apart by SNI), which is
 * how Passthrough and Terminate mix on one port (TLSRouteModeMixed).
 */
export const tlsProtocol: ProtocolModule = {
  protocol: 'TLS',
  routeKinds: [{ group: GATEWAY_GROUP, kind: 'TLSRoute' }],
  transport: 'tcp',
  distinctBy: 'sni',
  // Only Terminate needs a certificate: listenerServes() checks tlsMode.
  needsCertificates: false,
  resolve(listener, owner, ctx) {
    const tls = listener.tls;
    if (tls === undefined) {
      return { acceptProblem: { reason: Reason.UnsupportedValue, message: 'a TLS listener needs tls.mode (Passthrough or Terminate)' } };
    }
    // The API server defaults mode to Terminate when tls is given.
    const mode = tls.mode ?? 'Terminate';
    if (mode === 'Passthrough') return { tlsMode: 'Passthrough' };
    if (mode !== 'Terminate') {
      return { acceptProblem: { reason: Reason.UnsupportedValue, message: `tls.mode ${String(mode)} is not valid (Passthrough or Terminate)` } };
    }
    const { certificates, problem } = resolveCertificateRefs(listener, owner, ctx);
    return problem === undefined
      ? { tls: { certificates }, tlsMode: 'Terminate' }
      : { tls: { certificates }, tlsMode: 'Terminate', refProblem: problem };
  },
};
