import { GATEWAY_GROUP } from '../../model/objects.js';
import { plainL4Resolution } from './l4common.js';
import type { ProtocolModule } from './types.js';

/** TCP listeners carry TCPRoutes: one listener per port, every connection goes to the oldest route. */
export const tcpProtocol: ProtocolModule = {
  protocol: 'TCP',
  routeKinds: [{ group: GATEWAY_GROUP, kind: 'TCPRoute' }],
  transport: 'tcp',
  distinctBy: 'none',
  needsCertificates: false,
  resolve: plainL4Resolution,
};
