import { GATEWAY_GROUP } from '../../model/objects.js';
import type { RouteGroupKind } from '../types.js';

/** Route kinds HTTP and HTTPS listeners carry (what the translator implements for them). */
export const HTTP_ROUTE_KINDS: readonly RouteGroupKind[] = [{ group: GATEWAY_GROUP, kind: 'HTTPRoute' }];
