import { GATEWAY_GROUP } from '../../model/objects.js';
import { plainL4Resolution } from './l4common.js';
import type { ProtocolModule } from './types.js';

/** UDP listeners carry UDPRoutes: one listener per port; they never conflict with TCP-based listeners. */
export const udpProtocol: ProtocolModule = {
  protocol: 'UDP',
  routeKinds: [{ group: GATEWAY_GROUP, kind: 'UDPRoute' }],
  transport: 'udp',
  distinctBy: 'none',
  needsCertificates: false,
  resolve: plainL4Resolution,
};
