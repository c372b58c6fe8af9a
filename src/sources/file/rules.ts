import { isIP } from 'node:net';
import type { FieldPath } from './fieldpath.js';
import type { Issue } from './schema.js';

/**
 * Checks the API server runs that the JSON schemas cannot express: the CRDs'
 * `x-kubernetes-validations` (CEL), list-map key uniqueness, and core
 * Kubernetes validation of names and Secrets. Best effort: every rule below
 * is implemented; rules not listed are not checked (see the end of the table).
 * Messages are the CRDs' own, so they read like `kubectl apply` errors.
 *
 * | id                          | kinds                           | field                                   | rule |
 * |-----------------------------|---------------------------------|-----------------------------------------|------|
 * | meta.name                   | all                             | metadata.name                           | DNS-1123 subdomain (Service: DNS-1035 label, Namespace: DNS-1123 label) |
 * | meta.namespace              | namespaced                      | metadata.namespace                      | DNS-1123 label |
 * | meta.labels                 | all                             | metadata.labels                         | qualified-name keys, label values |
 * | listener.name-unique        | Gateway, ListenerSet            | spec.listeners                          | Listener name must be unique within the Gateway |
 * | listener.combination-unique | Gateway, ListenerSet            | spec.listeners                          | port + protocol + hostname unique |
 * | listener.tls-not-allowed    | Gateway, ListenerSet            | spec.listeners[i].tls                   | no tls for HTTP/TCP/UDP |
 * | listener.https-terminate    | Gateway, ListenerSet            | spec.listeners[i].tls.mode              | HTTPS tls mode must be Terminate |
 * | listener.tls-mode-required  | Gateway, ListenerSet            | spec.listeners[i].tls.mode              | TLS listeners must set tls.mode |
 * | listener.hostname-l4        | Gateway, ListenerSet            | spec.listeners[i].hostname              | no hostname for TCP/UDP |
 * | listener.terminate-certs    | Gateway, ListenerSet            | spec.listeners[i].tls                   | certificateRefs or options when mode is Terminate |
 * | gateway.addresses-unique    | Gateway                         | spec.addresses                          | IPAddress / Hostname values unique |
 * | gateway.address-hostname    | Gateway                         | spec.addresses[i].value                 | Hostname address is a valid hostname |
 * | gateway.tls-per-port-unique | Gateway                         | spec.tls.frontend.perPort               | port unique |
 * | route.parentrefs-section    | all routes                      | spec.parentRefs                         | sectionName set on all or none of the refs to one parent, and unique |
 * | route.backend-port          | all routes                      | spec.rules[i].backendRefs[j].port       | Must have port for Service reference (also mirror backendRef) |
 * | route.total-matches         | HTTPRoute, GRPCRoute            | spec.rules                              | at most 128 matches across rules |
 * | http.redirect-backends      | HTTPRoute                       | spec.rules[i]                           | RequestRedirect filter must not be used together with backendRefs |
 * | http.replace-prefix-match   | HTTPRoute                       | spec.rules[i]                           | ReplacePrefixMatch needs exactly one PathPrefix match (rule and backendRef filters) |
 * | filter.type-field           | HTTPRoute, GRPCRoute            | spec.rules[i].filters[j]                | filter.X must be set iff type is X |
 * | filter.not-repeated         | HTTPRoute, GRPCRoute            | spec.rules[i].filters                   | CORS / header modifiers / RequestRedirect / URLRewrite at most once |
 * | filter.redirect-rewrite     | HTTPRoute                       | spec.rules[i].filters                   | RequestRedirect and URLRewrite not both |
 * | filter.mirror-fraction      | HTTPRoute, GRPCRoute            | ...requestMirror                        | percent xor fraction; numerator <= denominator |
 * | filter.path-modifier        | HTTPRoute                       | ...requestRedirect.path / urlRewrite.path | replaceFullPath iff ReplaceFullPath, replacePrefixMatch iff ReplacePrefixMatch |
 * | filter.header-keys-unique   | HTTPRoute, GRPCRoute            | ...headerModifier.set/add/remove        | names unique (list-map / set) |
 * | filter.cors-wildcard        | HTTPRoute                       | ...cors.allowOrigins/Methods/Headers    | '*' only alone |
 * | http.path-value             | HTTPRoute                       | spec.rules[i].matches[j].path           | Exact/PathPrefix: absolute, no //, /./, /../, %2f, #, trailing /. or /.., valid characters |
 * | match.keys-unique           | HTTPRoute, GRPCRoute            | ...matches[j].headers / queryParams     | names unique (list-map) |
 * | grpc.method-match           | GRPCRoute                       | spec.rules[i].matches[j].method         | service or method set; valid characters |
 * | http.timeouts               | HTTPRoute                       | spec.rules[i].timeouts                  | backendRequest <= request (unless request is 0s) |
 * | tls.hostnames               | TLSRoute                        | spec.hostnames[i]                       | not an IP; RFC 1123; wildcard only as first label |
 * | secret.tls-keys             | Secret                          | data[tls.crt], data[tls.key]            | kubernetes.io/tls Secrets carry both keys |
 * | secret.data-keys            | Secret, ConfigMap               | data                                    | keys match [-._a-zA-Z0-9]+ |
 * | service.ports               | Service                         | spec.ports                              | port 1-65535; names required and unique when more than one port |
 *
 * Not checked: immutability rules (no previous object in a file), BackendTLSPolicy
 * and frontend-TLS validation rules, label-key rules of spec.infrastructure.
 */

type Obj = Record<string, unknown>;
type Check = (obj: Obj, kind: string) => Issue[];

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const has = (o: Obj, k: string): boolean => o[k] !== undefined && o[k] !== null;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

function issue(path: FieldPath, message: string): Issue {
  return { path, message: `Invalid value: ${message}` };
}

// ---- metadata -------------------------------------------------------------

const ROUTE_KINDS = new Set(['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute']);
const LISTENER_KINDS = new Set(['Gateway', 'ListenerSet', 'XListenerSet']);

const checkMetadata: Check = (obj, kind) => {
  const out: Issue[] = [];
  const md = isObj(obj.metadata) ? obj.metadata : {};
  const name = str(md.name);
  if (kind === 'Service' && (name.length > 63 || !DNS1035_LABEL.test(name))) {
    out.push(issue(['metadata', 'name'], `${JSON.stringify(name)}: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with a letter, end with an alphanumeric character, and be at most 63 characters`));
  } else if (kind === 'Namespace' && (name.length > 63 || !DNS1123_LABEL.test(name))) {
    out.push(issue(['metadata', 'name'], `${JSON.stringify(name)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters`));
  } else if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    out.push(issue(['metadata', 'name'], `${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`));
  }
  const ns = md.namespace;
  if (typeof ns === 'string' && ns !== '' && (ns.length > 63 || !DNS1123_LABEL.test(ns))) {
    out.push(issue(['metadata', 'namespace'], `${JSON.stringify(ns)}: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`));
  }
  if (isObj(md.labels)) {
    for (const [k, v] of Object.entries(md.labels)) {
      const slash = k.lastIndexOf('/');
      const prefix = slash >= 0 ? k.slice(0, slash) : '';
      const nameSeg = slash >= 0 ? k.slice(slash + 1) : k;
      if ((slash >= 0 && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) || nameSeg.length > 63 || !QUALIFIED_NAME.test(nameSeg)) {
        out.push(issue(['metadata', 'labels'], `${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/'`));
      }
      if (typeof v === 'string' && (v.length > 63 || !LABEL_VALUE.test(v))) {
        out.push(issue(['metadata', 'labels', k], `${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63 characters)`));
      }
    }
  }
  return out;
};

// ---- listeners (Gateway, ListenerSet) -----------------------------------------

const checkListeners: Check = (obj) => {
  const out: Issue[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const listeners = list(spec.listeners);
  const at: FieldPath = ['spec', 'listeners'];
  const names = new Map<string, number>();
  const combos = new Map<string, number>();
  listeners.forEach((l, i) => {
    const name = str(l.name);
    const prev = names.get(name);
    if (prev !== undefined) out.push({ path: [...at, i, 'name'], message: `Duplicate value: ${JSON.stringify(name)}: Listener name must be unique within the Gateway (also used by listeners[${prev}])` });
    else names.set(name, i);
    if (has(l, 'port')) {
      const combo = `${String(l.port)}\u0000${str(l.protocol)}\u0000${has(l, 'hostname') ? str(l.hostname) : '\u0001'}`;
      const prevCombo = combos.get(combo);
      if (prevCombo !== undefined) out.push(issue([...at, i], `Combination of port, protocol and hostname must be unique for each listener (same as listeners[${prevCombo}])`));
      else combos.set(combo, i);
    }
    const protocol = str(l.protocol);
    const tls = isObj(l.tls) ? l.tls : undefined;
    if (tls && ['HTTP', 'TCP', 'UDP'].includes(protocol)) out.push(issue([...at, i, 'tls'], `tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']`));
    if (tls && protocol === 'HTTPS' && !(str(tls.mode) === '' || tls.mode === 'Terminate')) out.push(issue([...at, i, 'tls', 'mode'], `${JSON.stringify(tls.mode)}: tls mode must be Terminate for protocol HTTPS`));
    if (protocol === 'TLS' && (!tls || str(tls.mode) === '')) out.push({ path: [...at, i, 'tls', 'mode'], message: 'Required value: tls mode must be set for protocol TLS' });
    if (['TCP', 'UDP'].includes(protocol) && str(l.hostname) !== '') out.push(issue([...at, i, 'hostname'], `${JSON.stringify(l.hostname)}: hostname must not be specified for protocols ['TCP', 'UDP']`));
    if (tls && tls.mode === 'Terminate') {
      const certs = Array.isArray(tls.certificateRefs) ? tls.certificateRefs.length : 0;
      const options = isObj(tls.options) ? Object.keys(tls.options).length : 0;
      if (certs === 0 && options === 0) out.push({ path: [...at, i, 'tls', 'certificateRefs'], message: 'Required value: certificateRefs or options must be specified when mode is Terminate' });
    }
  });
  return out;
};

const checkGatewayExtras: Check = (obj) => {
  const out: Issue[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const seen = new Map<string, number>();
  list(spec.addresses).forEach((a, i) => {
    const type = str(a.type);
    if (type === 'Hostname' && has(a, 'value') && !HOSTNAME.test(str(a.value))) {
      out.push(issue(['spec', 'addresses', i, 'value'], `${JSON.stringify(a.value)}: Hostname value must be empty or contain only valid characters (matching ${HOSTNAME.source})`));
    }
    if ((type === 'IPAddress' || type === 'Hostname') && has(a, 'value')) {
      const key = `${type}\u0000${str(a.value)}`;
      const prev = seen.get(key);
      if (prev !== undefined) out.push({ path: ['spec', 'addresses', i], message: `Duplicate value: ${JSON.stringify(a.value)}: ${type} values must be unique` });
      else seen.set(key, i);
    }
  });
  const frontend = isObj(spec.tls) && isObj(spec.tls.frontend) ? spec.tls.frontend : undefined;
  const ports = new Set<unknown>();
  list(frontend?.perPort).forEach((p, i) => {
    if (ports.has(p.port)) out.push({ path: ['spec', 'tls', 'frontend', 'perPort', i, 'port'], message: `Duplicate value: ${String(p.port)}: Port for TLS configuration must be unique within the Gateway` });
    ports.add(p.port);
  });
  return out;
};

// ---- routes -----------------------------------------------------------------

function parentKey(p: Obj): string {
  return [str(p.group), str(p.kind), str(p.name), str(p.namespace)].join('\u0000');
}

const checkParentRefs: Check = (obj) => {
  const out: Issue[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const refs = list(spec.parentRefs);
  const groups = new Map<string, number[]>();
  refs.forEach((p, i) => {
    const k = parentKey(p);
    groups.set(k, [...(groups.get(k) ?? []), i]);
  });
  for (const idx of groups.values()) {
    if (idx.length < 2) continue;
    const sections = idx.map((i) => str(refs[i]!.sectionName));
    if (sections.some((s) => s === '') && sections.some((s) => s !== '')) {
      out.push(issue(['spec', 'parentRefs'], 'sectionName must be specified when parentRefs includes 2 or more references to the same parent'));
      continue;
    }
    const seen = new Set<string>();
    for (const [n, i] of idx.entries()) {
      const s = sections[n]!;
      if (seen.has(s)) out.push(issue(['spec', 'parentRefs', i], 'sectionName must be unique when parentRefs includes 2 or more references to the same parent'));
      seen.add(s);
    }
  }
  return out;
}

function serviceRefNeedsPort(ref: Obj): boolean {
  return str(ref.group) === '' && str(ref.kind || 'Service') === 'Service' && !has(ref, 'port');
}

const checkBackendPorts: Check = (obj) => {
  const out: Issue[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const mirrors = (filters: unknown, at: FieldPath): void => {
    list(filters).forEach((f, k) => {
      if (isObj(f.requestMirror) && isObj(f.requestMirror.backendRef) && serviceRefNeedsPort(f.requestMirror.backendRef)) {
        out.push({ path: [...at, k, 'requestMirror', 'backendRef', 'port'], message: 'Required value: Must have port for Service reference' });
      }
    });
  };
  list(spec.rules).forEach((rule, i) => {
    mirrors(rule.filters, ['spec', 'rules', i, 'filters']);
    list(rule.backendRefs).forEach((b, j) => {
      if (serviceRefNeedsPort(b)) out.push({ path: ['spec', 'rules', i, 'backendRefs', j, 'port'], message: 'Required value: Must have port for Service reference' });
      mirrors(b.filters, ['spec', 'rules', i, 'backendRefs', j, 'filters']);
    });
  });
  return out;
};

const checkTotalMatches: Check = (obj) => {
  const spec = isObj(obj.spec) ? obj.spec : {};
  const total = list(spec.rules).reduce((n, r) => n + (Array.isArray(r.matches) ? r.matches.length : 0), 0);
  return total > 128
    ? [issue(['spec', 'rules'], `${total} matches: While 16 rules and 64 matches per rule are allowed, the total number of matches across all rules in a route must be less than 128`)]
    : [];
};

// ---- filters (HTTPRoute, GRPCRoute) ------------------------------------------

const FILTER_FIELDS: Readonly<Record<string, string>> = {
  CORS: 'cors',
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
  ExternalAuth: 'externalAuth',
};
const NOT_REPEATED = ['CORS', 'RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestRedirect', 'URLRewrite'];

function checkUniqueNames(items: unknown, at: FieldPath, out: Issue[], what: string, key: (o: Obj) => string = (o) => str(o.name)): void {
  const seen = new Set<string>();
  list(items).forEach((o, i) => {
    const k = key(o);
    if (seen.has(k)) out.push({ path: [...at, i], message: `Duplicate value: ${JSON.stringify(k)}: ${what} must be unique` });
    seen.add(k);
  });
}

function checkPathModifier(mod: unknown, at: FieldPath, out: Issue[]): void {
  if (!isObj(mod)) return;
  const type = str(mod.type);
  if (type === 'ReplaceFullPath' && !has(mod, 'replaceFullPath')) out.push({ path: [...at, 'replaceFullPath'], message: "Required value: replaceFullPath must be specified when type is set to 'ReplaceFullPath'" });
  if (has(mod, 'replaceFullPath') && type !== 'ReplaceFullPath') out.push(issue([...at, 'type'], `${JSON.stringify(type)}: type must be 'ReplaceFullPath' when replaceFullPath is set`));
  if (type === 'ReplacePrefixMatch' && !has(mod, 'replacePrefixMatch')) out.push({ path: [...at, 'replacePrefixMatch'], message: "Required value: replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'" });
  if (has(mod, 'replacePrefixMatch') && type !== 'ReplacePrefixMatch') out.push(issue([...at, 'type'], `${JSON.stringify(type)}: type must be 'ReplacePrefixMatch' when replacePrefixMatch is set`));
}

function checkFilters(filters: unknown, at: FieldPath, kind: string, out: Issue[]): void {
  const fs = list(filters);
  const counts = new Map<string, number>();
  fs.forEach((f, k) => {
    const type = str(f.type);
    counts.set(type, (counts.get(type) ?? 0) + 1);
    for (const [t, field] of Object.entries(FILTER_FIELDS)) {
      if (has(f, field) && type !== t) out.push(issue([...at, k, field], `filter.${field} must be nil if the filter.type is not ${t}`));
      if (!has(f, field) && type === t) out.push({ path: [...at, k, field], message: `Required value: filter.${field} must be specified for ${t} filter.type` });
    }
    const fAt: FieldPath = [...at, k];
    for (const mod of ['requestHeaderModifier', 'responseHeaderModifier']) {
      const m = f[mod];
      if (!isObj(m)) continue;
      checkUniqueNames(m.set, [...fAt, mod, 'set'], out, 'header name');
      checkUniqueNames(m.add, [...fAt, mod, 'add'], out, 'header name');
      if (Array.isArray(m.remove)) {
        const seen = new Set<unknown>();
        m.remove.forEach((r: unknown, i: number) => {
          if (seen.has(r)) out.push({ path: [...fAt, mod, 'remove', i], message: `Duplicate value: ${JSON.stringify(r)}` });
          seen.add(r);
        });
      }
    }
    if (isObj(f.requestMirror)) {
      const m = f.requestMirror;
      if (has(m, 'percent') && has(m, 'fraction')) out.push(issue([...fAt, 'requestMirror'], 'Only one of percent or fraction may be specified in HTTPRequestMirrorFilter'));
      if (isObj(m.fraction) && typeof m.fraction.numerator === 'number' && typeof m.fraction.denominator === 'number' && m.fraction.numerator > m.fraction.denominator) {
        out.push(issue([...fAt, 'requestMirror', 'fraction'], 'numerator must be less than or equal to denominator'));
      }
    }
    if (isObj(f.requestRedirect)) checkPathModifier(f.requestRedirect.path, [...fAt, 'requestRedirect', 'path'], out);
    if (isObj(f.urlRewrite)) checkPathModifier(f.urlRewrite.path, [...fAt, 'urlRewrite', 'path'], out);
    if (isObj(f.cors)) {
      for (const field of ['allowOrigins', 'allowMethods', 'allowHeaders']) {
        const v = f.cors[field];
        if (Array.isArray(v) && v.includes('*') && v.length > 1) out.push(issue([...fAt, 'cors', field], `${field.replace(/^a/, 'A')} cannot contain '*' alongside other values`));
      }
    }
  });
  for (const t of NOT_REPEATED) {
    if ((counts.get(t) ?? 0) > 1) out.push(issue(at, `${t} filter cannot be repeated`));
  }
  if (kind === 'HTTPRoute' && counts.has('RequestRedirect') && counts.has('URLRewrite')) {
    out.push(issue(at, 'May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both'));
  }
}

function hasReplacePrefix(filters: unknown, field: 'requestRedirect' | 'urlRewrite'): boolean {
  return list(filters).some((f) => {
    const m = f[field];
    return isObj(m) && isObj(m.path) && m.path.type === 'ReplacePrefixMatch' && has(m.path, 'replacePrefixMatch');
  });
}

function onePathPrefixMatch(rule: Obj): boolean {
  const matches = list(rule.matches);
  return matches.length === 1 && isObj(matches[0]!.path) && matches[0]!.path.type === 'PathPrefix';
}

// ---- HTTPRoute rules ---------------------------------------------------------

const DURATION = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/;
const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Gateway API Duration (GEP-2257) in milliseconds, or undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  if (!DURATION.test(value)) return undefined;
  let ms = 0;
  for (const m of value.matchAll(/([0-9]+)(ms|h|m|s)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

function checkPathValue(path: Obj, at: FieldPath, out: Issue[]): void {
  const type = str(path.type);
  if (type !== 'Exact' && type !== 'PathPrefix') return;
  const value = str(path.value);
  const bad = (why: string): void => {
    out.push(issue([...at, 'value'], `${JSON.stringify(value)}: ${why} when type one of ['Exact', 'PathPrefix']`));
  };
  if (!value.startsWith('/')) bad("value must be an absolute path and start with '/'");
  for (const s of ['//', '/./', '/../', '%2f', '%2F', '#']) if (value.includes(s)) bad(`must not contain '${s}'`);
  if (value.endsWith('/..')) bad("must not end with '/..'");
  else if (value.endsWith('/.')) bad("must not end with '/.'");
  if (value !== '' && !PATH_CHARS.test(value)) bad(`must only contain valid characters (matching ${PATH_CHARS.source})`);
}

const checkHttpRules: Check = (obj, kind) => {
  const out: Issue[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  list(spec.rules).forEach((rule, i) => {
    const at: FieldPath = ['spec', 'rules', i];
    checkFilters(rule.filters, [...at, 'filters'], kind, out);
    list(rule.backendRefs).forEach((b, j) => checkFilters(b.filters, [...at, 'backendRefs', j, 'filters'], kind, out));
    list(rule.matches).forEach((m, j) => {
      checkUniqueNames(m.headers, [...at, 'matches', j, 'headers'], out, 'header name');
      checkUniqueNames(m.queryParams, [...at, 'matches', j, 'queryParams'], out, 'query parameter name');
      if (kind === 'HTTPRoute' && isObj(m.path)) checkPathValue(m.path, [...at, 'matches', j, 'path'], out);
      if (kind === 'GRPCRoute' && isObj(m.method)) {
        const mm = m.method;
        const mAt: FieldPath = [...at, 'matches', j, 'method'];
        if (has(mm, 'type') && !has(mm, 'service') && !has(mm, 'method')) out.push(issue(mAt, "One or both of 'service' or 'method' must be specified"));
        const exact = !has(mm, 'type') || mm.type === 'Exact';
        if (exact && has(mm, 'service') && !/^\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$/i.test(str(mm.service))) out.push(issue([...mAt, 'service'], `${JSON.stringify(mm.service)}: service must only contain valid characters`));
        if (exact && has(mm, 'method') && !/^[A-Za-z_][A-Za-z_0-9]*$/.test(str(mm.method))) out.push(issue([...mAt, 'method'], `${JSON.stringify(mm.method)}: method must only contain valid characters`));
      }
    });
    if (kind !== 'HTTPRoute') return;
    const backends = list(rule.backendRefs);
    if (backends.length > 0 && list(rule.filters).some((f) => has(f, 'requestRedirect'))) {
      out.push(issue(at, 'RequestRedirect filter must not be used together with backendRefs'));
    }
    for (const field of ['requestRedirect', 'urlRewrite'] as const) {
      const what = field === 'requestRedirect' ? 'RequestRedirect' : 'URLRewrite';
      if (hasReplacePrefix(rule.filters, field) && !onePathPrefixMatch(rule)) {
        out.push(issue([...at, 'matches'], `When using ${what} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified`));
      }
      if (backends.some((b) => hasReplacePrefix(b.filters, field)) && !onePathPrefixMatch(rule)) {
        out.push(issue([...at, 'matches'], `Within backendRefs, when using ${what} filter with path.replacePrefixMatch, exactly one PathPrefix match must be specified`));
      }
    }
    if (isObj(rule.timeouts)) {
      const request = typeof rule.timeouts.request === 'string' ? parseDuration(rule.timeouts.request) : undefined;
      const backend = typeof rule.timeouts.backendRequest === 'string' ? parseDuration(rule.timeouts.backendRequest) : undefined;
      if (request !== undefined && backend !== undefined && request !== 0 && backend > request) {
        out.push(issue([...at, 'timeouts'], 'backendRequest timeout cannot be longer than request timeout'));
      }
    }
  });
  return out;
};

const checkTlsRouteHostnames: Check = (obj) => {
  const out: Issue[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const rfc1123 = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;
  (Array.isArray(spec.hostnames) ? spec.hostnames : []).forEach((h: unknown, i: number) => {
    const v = str(h);
    const at: FieldPath = ['spec', 'hostnames', i];
    if (isIP(v) !== 0) out.push(issue(at, `${JSON.stringify(v)}: Hostnames cannot contain an IP`));
    else if (!v.includes('*') && !rfc1123.test(v)) out.push(issue(at, `${JSON.stringify(v)}: Hostnames must be valid based on RFC-1123`));
    else if (v.includes('*') && !(v.startsWith('*.') && rfc1123.test(v.slice(2)))) out.push(issue(at, `${JSON.stringify(v)}: Wildcards on hostnames must be the first label, and the rest of hostname must be valid based on RFC-1123`));
  });
  return out;
};

// ---- core kinds ----------------------------------------------------------------

const checkDataKeys: Check = (obj) => {
  const out: Issue[] = [];
  for (const field of ['data', 'stringData', 'binaryData']) {
    const d = obj[field];
    if (!isObj(d)) continue;
    for (const k of Object.keys(d)) {
      if (k.length > 253 || !CONFIG_KEY.test(k)) out.push(issue([field, k], `${JSON.stringify(k)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'`));
    }
  }
  return out;
};

const checkTlsSecret: Check = (obj) => {
  if (obj.type !== 'kubernetes.io/tls') return [];
  const data = isObj(obj.data) ? obj.data : {};
  const stringData = isObj(obj.stringData) ? obj.stringData : {};
  const out: Issue[] = [];
  for (const key of ['tls.crt', 'tls.key']) {
    if (!has(data, key) && !has(stringData, key)) out.push({ path: ['data', key], message: 'Required value' });
  }
  return out;
};

const checkServicePorts: Check = (obj) => {
  const out: Issue[] = [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  const ports = list(spec.ports);
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const at: FieldPath = ['spec', 'ports', i];
    if (typeof p.port === 'number' && (p.port < 1 || p.port > 65535)) out.push(issue([...at, 'port'], `${p.port}: must be between 1 and 65535, inclusive`));
    if (ports.length > 1) {
      const name = str(p.name);
      if (name === '') out.push({ path: [...at, 'name'], message: 'Required value' });
      else if (names.has(name)) out.push({ path: [...at, 'name'], message: `Duplicate value: ${JSON.stringify(name)}` });
      names.add(name);
    }
  });
  return out;
};

// ---- table ---------------------------------------------------------------------

interface Rule {
  readonly applies: (kind: string) => boolean;
  readonly check: Check;
}

const RULES: readonly Rule[] = [
  { applies: () => true, check: checkMetadata },
  { applies: (k) => LISTENER_KINDS.has(k), check: checkListeners },
  { applies: (k) => k === 'Gateway', check: checkGatewayExtras },
  { applies: (k) => ROUTE_KINDS.has(k), check: checkParentRefs },
  { applies: (k) => ROUTE_KINDS.has(k), check: checkBackendPorts },
  { applies: (k) => k === 'HTTPRoute' || k === 'GRPCRoute', check: checkTotalMatches },
  { applies: (k) => k === 'HTTPRoute' || k === 'GRPCRoute', check: checkHttpRules },
  { applies: (k) => k === 'TLSRoute', check: checkTlsRouteHostnames },
  { applies: (k) => k === 'Secret' || k === 'ConfigMap', check: checkDataKeys },
  { applies: (k) => k === 'Secret', check: checkTlsSecret },
  { applies: (k) => k === 'Service', check: checkServicePorts },
];

/** Run every rule that applies to `kind`. The object has had its defaults applied. */
export function ruleIssues(kind: string, obj: Record<string, unknown>): Issue[] {
  const out: Issue[] = [];
  for (const rule of RULES) if (rule.applies(kind)) out.push(...rule.check(obj, kind));
  return out;
}
