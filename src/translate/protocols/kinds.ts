import { GATEWAY_GROUP } from '../../model/objects.js';
import type { RouteGroupKind } from '../types.js';

/** Route kinds HTTP and HTTPS listeners carry (GRPCRoute only when TranslateOptions.grpcRoutes is set). */
export const HTTP_ROUTE_KINDS: readonly RouteGroupKind[] = [
  { group: GATEWAY_GROUP, kind: 'HTTPRoute' },
  { group: GATEWAY_GROUP, kind: 'GRPCRoute' },
];
