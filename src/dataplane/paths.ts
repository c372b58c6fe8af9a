import type { PathModifierIR } from '../translate/ir.js';

/** Strip one trailing "/" (so "/" becomes ""), as PathPrefix values are compared by element. */
export function trimTrailingSlash(p: string): string {
  return p.length > 0 && p.charCodeAt(p.length - 1) === 47 ? p.slice(0, -1) : p;
}

/** True when `path` matches the PathPrefix `prefix` element by element ("/foo" matches "/foo", "/foo/", "/foo/bar", not "/foobar"). */
export function pathHasPrefix(path: string, prefix: string): boolean {
  const p = trimTrailingSlash(prefix);
  if (p === '') return true;
  if (!path.startsWith(p)) return false;
  return path.length === p.length || path.charCodeAt(p.length) === 47;
}

/**
 * ReplacePrefixMatch with the spec's slash rules:
 *   /foo/bar, prefix /foo, replace /xyz  -> /xyz/bar
 *   /foo/bar, prefix /foo, replace /xyz/ -> /xyz/bar
 *   /foo,     prefix /foo, replace /xyz  -> /xyz
 *   /foo/,    prefix /foo, replace /xyz  -> /xyz/
 *   /foo/bar, prefix /foo, replace ""    -> /bar
 *   /foo,     prefix /foo, replace "/"   -> /
 * A path that does not have the prefix is returned unchanged.
 */
export function replacePrefix(path: string, prefix: string, replacement: string): string {
  if (!pathHasPrefix(path, prefix)) return path;
  const rest = path.slice(trimTrailingSlash(prefix).length);
  const out = trimTrailingSlash(replacement) + rest;
  return out === '' ? '/' : out.charCodeAt(0) === 47 ? out : `/${out}`;
}

/** The new path (without query) for a rewrite or redirect path modifier. */
export function modifyPath(path: string, mod: PathModifierIR): string {
  if (mod.type === 'ReplaceFullPath') return mod.value === '' ? '/' : mod.value;
  return replacePrefix(path, mod.prefix, mod.value);
}

/**
 * Split a request target into path and query (query includes the "?", or is "").
 * Absolute-form targets ("http://host/p?q") yield their path part.
 */
export function splitTarget(url: string): { path: string; query: string } {
  let start = 0;
  if (url.charCodeAt(0) !== 47) {
    const scheme = url.indexOf('://');
    if (scheme !== -1) {
      const slash = url.indexOf('/', scheme + 3);
      const q0 = url.indexOf('?', scheme + 3);
      start = slash === -1 || (q0 !== -1 && q0 < slash) ? -1 : slash;
      if (start === -1) return { path: '/', query: q0 === -1 ? '' : url.slice(q0) };
    }
  }
  const q = url.indexOf('?', start);
  if (q === -1) return { path: start === 0 ? url : url.slice(start), query: '' };
  return { path: url.slice(start, q), query: url.slice(q) };
}

/** Path without query for the hot path (no object allocation). */
export function pathOf(url: string): string {
  if (url.charCodeAt(0) !== 47) return splitTarget(url).path;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** First value of query parameter `name` (case-sensitive), percent-decoded, or undefined. */
export function queryParam(url: string, name: string): string | undefined {
  let i = url.indexOf('?');
  if (i === -1) return undefined;
  i++;
  const n = name.length;
  while (i < url.length) {
    let end = url.indexOf('&', i);
    if (end === -1) end = url.length;
    let hashAt = url.indexOf('#', i);
    if (hashAt !== -1 && hashAt < end) end = hashAt;
    else hashAt = -1;
    if (url.startsWith(name, i) && (i + n === end || url.charCodeAt(i + n) === 61 /* = */)) {
      const raw = i + n === end ? '' : url.slice(i + n + 1, end);
      return decodeQueryValue(raw);
    }
    if (hashAt !== -1) break;
    i = end + 1;
  }
  return undefined;
}

function decodeQueryValue(raw: string): string {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
