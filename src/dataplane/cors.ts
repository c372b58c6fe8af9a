import type { HttpFilterIR } from '../translate/ir.js';

export type CorsIR = Extract<HttpFilterIR, { type: 'CORS' }>;

/** A CORS filter compiled once per table. */
export interface CompiledCors {
  readonly anyOrigin: boolean;
  readonly origins: readonly RegExp[];
  readonly credentials: boolean;
  readonly methods: string;
  readonly anyMethod: boolean;
  readonly headers: string;
  readonly anyHeader: boolean;
  readonly expose: string;
  readonly maxAge: string;
}

export function compileCors(f: CorsIR): CompiledCors {
  const anyOrigin = f.allowOrigins.includes('*');
  return {
    anyOrigin,
    origins: anyOrigin ? [] : f.allowOrigins.map(originPattern),
    credentials: f.allowCredentials,
    methods: f.allowMethods.join(', '),
    anyMethod: f.allowMethods.includes('*'),
    headers: f.allowHeaders.join(', '),
    anyHeader: f.allowHeaders.includes('*'),
    expose: f.exposeHeaders.includes('*') && f.allowCredentials ? '' : f.exposeHeaders.join(', '),
    maxAge: String(f.maxAge),
  };
}

/** "https://*.example.com[:port]" -> a full-match RegExp over a normalised origin. */
function originPattern(origin: string): RegExp {
  const norm = normalizeOrigin(origin);
  let re = '';
  for (const ch of norm) re += ch === '*' ? '.+' : ch.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`^${re}$`, 'i');
}

/** Lower-case and drop the scheme's default port, so "https://a.com:443" equals "https://a.com". */
export function normalizeOrigin(origin: string): string {
  const o = origin.toLowerCase();
  if (o.startsWith('http://') && o.endsWith(':80')) return o.slice(0, -3);
  if (o.startsWith('https://') && o.endsWith(':443')) return o.slice(0, -4);
  return o;
}

export function originAllowed(c: CompiledCors, origin: string): boolean {
  if (c.anyOrigin) return true;
  const norm = normalizeOrigin(origin);
  for (const re of c.origins) if (re.test(norm)) return true;
  return false;
}

/** True for a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method. */
export function isPreflight(method: string, headers: Record<string, string | string[] | undefined>): boolean {
  return method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined;
}

/** Response headers for a preflight from an allowed origin. */
export function preflightHeaders(c: CompiledCors, origin: string, reqMethod: string, reqHeaders: string | undefined): string[] {
  const out = ['access-control-allow-origin', c.anyOrigin && !c.credentials ? '*' : origin];
  if (c.credentials) out.push('access-control-allow-credentials', 'true');
  if (c.anyMethod) out.push('access-control-allow-methods', c.credentials ? reqMethod : '*');
  else if (c.methods !== '') out.push('access-control-allow-methods', c.methods);
  if (reqHeaders !== undefined) {
    if (c.anyHeader) out.push('access-control-allow-headers', c.credentials ? reqHeaders : '*');
    else if (c.headers !== '') out.push('access-control-allow-headers', c.headers);
  }
  // The conformance suite (HTTPRouteCORS) expects expose-headers on preflights too.
  if (c.expose !== '') out.push('access-control-expose-headers', c.expose);
  out.push('access-control-max-age', c.maxAge);
  if (!c.anyOrigin) out.push('vary', 'Origin');
  return out;
}

/** Headers added to an actual (non-preflight) cross-origin response. */
export function corsResponseHeaders(c: CompiledCors, origin: string, out: string[]): void {
  out.push('access-control-allow-origin', c.anyOrigin && !c.credentials ? '*' : origin);
  if (c.credentials) out.push('access-control-allow-credentials', 'true');
  if (c.expose !== '') out.push('access-control-expose-headers', c.expose);
  if (!c.anyOrigin) out.push('vary', 'Origin');
}
