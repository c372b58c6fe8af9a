/**
 * Header names the way Go's net/textproto canonicalises them (echo-basic's
 * `headers` map is a Go http.Header): "x-foo-bar" -> "X-Foo-Bar". A name with a
 * byte outside the RFC 7230 token set is returned unchanged, as Go does.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const cache = new Map<string, string>();
const CACHE_LIMIT = 4096;

export function canonicalHeaderKey(name: string): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let out = name;
  if (TOKEN.test(name)) {
    let upper = true;
    let built = '';
    for (const ch of name.toLowerCase()) {
      built += upper ? ch.toUpperCase() : ch;
      upper = ch === '-';
    }
    out = built;
  }
  if (cache.size < CACHE_LIMIT) cache.set(name, out);
  return out;
}

/**
 * Build echo-basic's `headers` object (canonical name -> list of values, keys
 * sorted as Go's JSON encoder sorts map keys) from Node's flat rawHeaders.
 * Host, Transfer-Encoding and HTTP/2 pseudo-headers are left out, as Go's
 * server moves them out of Request.Header. Over HTTP/2, Go joins Cookie
 * headers into one value with "; ".
 */
export function headersMap(rawHeaders: readonly string[], http2: boolean): Record<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const key = canonicalHeaderKey(name);
    if (key === 'Host' || key === 'Transfer-Encoding') continue;
    const list = map.get(key);
    if (list === undefined) map.set(key, [rawHeaders[i + 1]!]);
    else list.push(rawHeaders[i + 1]!);
  }
  if (http2) {
    const cookies = map.get('Cookie');
    if (cookies !== undefined && cookies.length > 1) map.set('Cookie', [cookies.join('; ')]);
  }
  const out: Record<string, string[]> = {};
  for (const key of [...map.keys()].sort()) out[key] = map.get(key)!;
  return out;
}
