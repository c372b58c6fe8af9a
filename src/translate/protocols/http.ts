import { HTTP_ROUTE_KINDS } from './kinds.js';
import type { ProtocolModule } from './types.js';

/** Plain HTTP listeners: HTTPRoute (and GRPCRoute once supported), told apart by Host. */
export const httpProtocol: ProtocolModule = {
  protocol: 'HTTP',
  routeKinds: HTTP_ROUTE_KINDS,
  transport: 'tcp',
  distinctBy: 'host',
  needsCertificates: false,
  resolve() {
    return {};
  },
};
