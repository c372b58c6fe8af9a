import { UsageError } from '../errors.js';

/** Parse a listen flag: "HOST:PORT", "[v6]:PORT" or ":PORT" (every address: no host). */
export function parseHostPort(value: string, flag: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--${flag}: expected HOST:PORT, [IPv6]:PORT or :PORT, got "${value}"`);
  const host = m[1] ?? m[2];
  return host ? { host, port } : { port };
}
