/**
 * Host lookup with Gateway API semantics: exact names first, then wildcard
 * suffixes ("*.example.com" matches any name with at least one more label),
 * longest suffix first, then the catch-all.
 */
export class HostIndex<T> {
  readonly #exact = new Map<string, T>();
  /** ".example.com" -> value */
  readonly #suffixes = new Map<string, T>();
  #catchAll: T | undefined;

  /** Add an entry; the first value registered for a name wins (callers add most specific first). */
  add(hostname: string | undefined, value: T): void {
    if (hostname === undefined || hostname === '' || hostname === '*') {
      if (this.#catchAll === undefined) this.#catchAll = value;
      return;
    }
    const name = normalizeName(hostname);
    if (name.startsWith('*.')) {
      const suffix = name.slice(1);
      if (!this.#suffixes.has(suffix)) this.#suffixes.set(suffix, value);
    } else if (!this.#exact.has(name)) {
      this.#exact.set(name, value);
    }
  }

  /** `host` must already be normalised (lower case, no port, no trailing dot): see normalizeHost. */
  lookup(host: string): T | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    if (this.#suffixes.size !== 0) {
      // Strip labels from the left: the first hit is the longest suffix.
      let dot = host.indexOf('.');
      while (dot !== -1) {
        const hit = this.#suffixes.get(host.slice(dot));
        if (hit !== undefined) return hit;
        dot = host.indexOf('.', dot + 1);
      }
    }
    return this.#catchAll;
  }

  get size(): number {
    return this.#exact.size + this.#suffixes.size + (this.#catchAll === undefined ? 0 : 1);
  }
}

function normalizeName(name: string): string {
  let n = name.toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  return n;
}

/**
 * Host header -> lookup key: lower case, without the port and a trailing dot.
 * IPv6 literals keep their brackets ("[::1]"). Allocation-free for the common
 * already-lower-case name without a port.
 */
export function normalizeHost(raw: string | undefined): string {
  if (raw === undefined) return '';
  let end = raw.length;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']');
    if (close !== -1) end = close + 1;
  } else {
    const colon = raw.indexOf(':');
    if (colon !== -1) end = colon;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 46 /* . */) end--;
  let host = end === raw.length ? raw : raw.slice(0, end);
  if (hasUpper(host)) host = host.toLowerCase();
  return host;
}

function hasUpper(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return true;
  }
  return false;
}
