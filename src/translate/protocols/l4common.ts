import { Reason } from '../conditions.js';
import type { ListenerResolution } from './types.js';
import type { ListenerSpec } from '../types.js';

/** TCP and UDP listeners take neither a hostname nor TLS settings (the API forbids both). */
export function plainL4Resolution(listener: ListenerSpec): ListenerResolution {
  if (listener.hostname !== undefined && listener.hostname !== '') {
    return { acceptProblem: { reason: Reason.UnsupportedValue, message: `hostname must not be specified for protocol ${listener.protocol}` } };
  }
  if (listener.tls !== undefined) {
    return { acceptProblem: { reason: Reason.UnsupportedValue, message: `tls must not be specified for protocol ${listener.protocol}` } };
  }
  return {};
}
