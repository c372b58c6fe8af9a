import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute, CompiledStringMatch } from './compiled.js';
import { queryParam, trimTrailingSlash } from './paths.js';

/**
 * Route entries of one virtual host, indexed by path. Entries keep their IR
 * position (`index`, already sorted by Gateway API precedence); a request
 * looks only at the candidates its path can match (exact map, the prefixes
 * along its path, the regex entries) and takes the lowest index that fully
 * matches. Each candidate list is sorted, so a list is abandoned as soon as
 * its indices pass the best match so far.
 */
export class RouteIndex {
  readonly #exact = new Map<string, CompiledRoute[]>();
  /** Normalised prefix without trailing "/" ("/" itself is #root). */
  readonly #prefix = new Map<string, CompiledRoute[]>();
  readonly #root: CompiledRoute[] = [];
  readonly #regex: CompiledRoute[] = [];
  #maxPrefixLen = 0;
  readonly entries: CompiledRoute[] = [];

  /** Add entries in IR order. */
  add(route: CompiledRoute): void {
    this.entries.push(route);
    if (route.never) return;
    const p = route.ir.match.path;
    switch (p.type) {
      case 'Exact':
        push(this.#exact, p.value, route);
        break;
      case 'PathPrefix': {
        const key = trimTrailingSlash(p.value);
        if (key === '') this.#root.push(route);
        else {
          push(this.#prefix, key, route);
          if (key.length > this.#maxPrefixLen) this.#maxPrefixLen = key.length;
        }
        break;
      }
      default:
        this.#regex.push(route);
    }
  }

  /**
   * The first entry (by IR order) matching the request.
   * `path` is the request path without query; `url` the full target (for query params).
   */
  match(path: string, url: string, method: string, headers: IncomingHttpHeaders): CompiledRoute | undefined {
    let best: CompiledRoute | undefined;
    const exact = this.#exact.get(path);
    if (exact !== undefined) best = scan(exact, best, path, url, method, headers);
    if (this.#prefix.size !== 0) {
      // Longest prefix first: it usually holds the winner, which prunes the shorter lists.
      let end = path.length;
      if (end > 1 && path.charCodeAt(end - 1) === 47) end--;
      const max = this.#maxPrefixLen;
      while (end > 0) {
        if (end <= max) {
          const list = this.#prefix.get(end === path.length ? path : path.slice(0, end));
          if (list !== undefined) best = scan(list, best, path, url, method, headers);
        }
        end = path.lastIndexOf('/', end - 1);
      }
    }
    if (this.#root.length !== 0) best = scan(this.#root, best, path, url, method, headers);
    if (this.#regex.length !== 0) best = scan(this.#regex, best, path, url, method, headers);
    return best;
  }
}

function push(map: Map<string, CompiledRoute[]>, key: string, route: CompiledRoute): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [route]);
  else list.push(route);
}

function scan(
  list: readonly CompiledRoute[],
  best: CompiledRoute | undefined,
  path: string,
  url: string,
  method: string,
  headers: IncomingHttpHeaders,
): CompiledRoute | undefined {
  const limit = best === undefined ? Infinity : best.index;
  for (let i = 0; i < list.length; i++) {
    const r = list[i];
    if (r.index >= limit) return best;
    if (predicatesMatch(r, path, url, method, headers)) return r;
  }
  return best;
}

/** Everything but the exact/prefix path test, which the index already did. */
export function predicatesMatch(r: CompiledRoute, path: string, url: string, method: string, headers: IncomingHttpHeaders): boolean {
  if (r.method !== undefined && r.method !== method) return false;
  if (r.pathRegex !== undefined && !r.pathRegex.test(path)) return false;
  const hm = r.headers;
  for (let i = 0; i < hm.length; i++) {
    const m = hm[i];
    const v = headers[m.name];
    if (v === undefined) return false;
    if (!stringMatches(m, typeof v === 'string' ? v : v.join(', '))) return false;
  }
  const qm = r.query;
  for (let i = 0; i < qm.length; i++) {
    const m = qm[i];
    const v = queryParam(url, m.name);
    if (v === undefined || !stringMatches(m, v)) return false;
  }
  return true;
}

function stringMatches(m: CompiledStringMatch, v: string): boolean {
  return m.regex === undefined ? v === m.value : m.regex.test(v);
}

/** A full-match RegExp (Gateway API regexes match the whole value). Throws on an invalid pattern. */
export function fullMatchRegExp(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}
