import { httpProtocol } from './http.js';
import { httpsProtocol } from './https.js';
import { tcpProtocol } from './tcp.js';
import { tlsProtocol } from './tls.js';
import { udpProtocol } from './udp.js';
import type { ProtocolModule } from './types.js';

export type { ProtocolModule, ListenerResolution } from './types.js';

/** Listener protocols the translator implements. Others get Accepted=False/UnsupportedProtocol. */
const MODULES: ReadonlyMap<string, ProtocolModule> = new Map([httpProtocol, httpsProtocol, tlsProtocol, tcpProtocol, udpProtocol].map((m) => [m.protocol, m]));

export function protocolModule(protocol: string): ProtocolModule | undefined {
  return MODULES.get(protocol);
}

/**
 * Can listeners of these two protocols share a port? HTTP with HTTP (by Host),
 * HTTPS with HTTPS or TLS (by SNI), TCP-based with UDP (different transport).
 * Returns the key under which their hostnames must then differ, or undefined
 * when they cannot share the port (or, for 'none', when only one may exist).
 */
export function sharingKey(a: ProtocolModule, b: ProtocolModule): 'host' | 'sni' | 'separate' | undefined {
  if (a.transport !== b.transport) return 'separate';
  // Two TCP (or UDP) listeners on one port cannot be told apart: they conflict like equal hostnames.
  if (a.distinctBy === 'none' || b.distinctBy === 'none') return a.protocol === b.protocol ? 'host' : undefined;
  if (a.distinctBy !== b.distinctBy) return undefined;
  return a.distinctBy;
}
