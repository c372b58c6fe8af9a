import type { HttpFilterIR } from '../translate/ir.js';
import { modifyPath } from './paths.js';

export type RedirectIR = Extract<HttpFilterIR, { type: 'RequestRedirect' }>;

export interface RedirectRequest {
  /** "http" | "https": the listener's scheme. */
  readonly scheme: string;
  /** Request host without port. */
  readonly host: string;
  /** The Gateway listener port the request came in on. */
  readonly listenerPort: number;
  readonly path: string;
  /** "" or "?..." */
  readonly query: string;
}

const WELL_KNOWN: Readonly<Record<string, number>> = { http: 80, https: 443 };

/**
 * The Location of a RequestRedirect, with the spec's port derivation:
 * - an explicit port wins;
 * - else when the filter sets a scheme, that scheme's well-known port;
 * - else the Gateway listener port.
 * The port is left out when it is the default one for the resulting scheme.
 */
export function redirectLocation(f: RedirectIR, req: RedirectRequest): string {
  const scheme = f.scheme ?? req.scheme;
  const hostname = f.hostname ?? req.host;
  let port: number;
  if (f.port !== undefined) port = f.port;
  else if (f.scheme !== undefined) port = WELL_KNOWN[f.scheme] ?? req.listenerPort;
  else port = req.listenerPort;
  const path = f.path === undefined ? req.path : modifyPath(req.path, f.path);
  const hostPart = hostname.includes(':') && !hostname.startsWith('[') ? `[${hostname}]` : hostname;
  const portPart = WELL_KNOWN[scheme] === port ? '' : `:${port}`;
  return `${scheme}://${hostPart}${portPart}${path}${req.query}`;
}
