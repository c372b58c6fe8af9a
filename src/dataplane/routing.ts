import type { FrontRequest } from './front.js';
import type { TLSSocket } from 'node:tls';
import type { CompiledListener, CompiledPort, CompiledRoute } from './compiled.js';
import { normalizeHost } from './hostindex.js';
import { pathOf } from './paths.js';
import { requestClientVerified } from './tls.js';

/** Why no route was found: the status, the access log reason and the short body. */
export interface RouteMiss {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
}

export const NO_LISTENER: RouteMiss = { status: 404, reason: 'no_listener', body: 'no matching listener\n' };
export const NO_VHOST: RouteMiss = { status: 404, reason: 'no_route', body: 'no route for this host\n' };
export const NO_ROUTE: RouteMiss = { status: 404, reason: 'no_route', body: 'no matching route\n' };
export const MISDIRECTED: RouteMiss = { status: 421, reason: 'misdirected_request', body: 'misdirected request: host does not match the TLS server name\n' };
/** 421 so that clients retry on a new connection, whose handshake then asks for the certificate this host needs. */
export const CLIENT_CERT_REQUIRED: RouteMiss = { status: 421, reason: 'client_certificate_required', body: 'this host requires a client certificate verified on a connection made for it\n' };

export interface RoutingTarget {
  listener: CompiledListener | undefined;
}

/**
 * Listener by Host, the 421 checks against the SNI's listener and its client
 * certificate validation on HTTPS ports,
 * virtual host by Host, then the first matching route entry. Sets
 * target.listener when a listener matched.
 */
export function resolveRoute(target: RoutingTarget, port: CompiledPort, req: FrontRequest, host: string): CompiledRoute | RouteMiss {
  const listener = port.listeners.lookup(host);
  if (listener === undefined) return NO_LISTENER;
  target.listener = listener;
  if (port.tls !== undefined) {
    const sni = (req.socket as TLSSocket).servername;
    if (typeof sni === 'string' && sni !== '' && sni !== host && port.listeners.lookup(normalizeHost(sni)) !== listener) {
      return MISDIRECTED;
    }
    if (listener.clientAuth !== undefined && !requestClientVerified(port.tls, listener, req.socket as TLSSocket)) return CLIENT_CERT_REQUIRED;
  }
  const vhost = listener.vhosts.lookup(host);
  if (vhost === undefined) return NO_VHOST;
  const url = req.url ?? '/';
  return vhost.routes.match(pathOf(url), url, req.method ?? 'GET', req.headers) ?? NO_ROUTE;
}

export function isMiss(r: CompiledRoute | RouteMiss): r is RouteMiss {
  return (r as RouteMiss).reason !== undefined;
}
