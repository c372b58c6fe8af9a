/**
 * The defaults the API server writes into objects on create, from the v1.6.1
 * CRD schemas (`default:` markers) and core Kubernetes defaulting, so objects
 * read from a file look like the ones an informer returns. Applied before
 * validation, as the API server does, so the CEL-style rules see them.
 * Only what a missing field means is filled in; nothing present is changed.
 *
 * Gateway:   listeners[].allowedRoutes = {namespaces: {from: Same}}, .namespaces.from = Same,
 *            allowedRoutes.kinds[].group = gateway.networking.k8s.io,
 *            listeners[].tls.mode = Terminate, tls.certificateRefs[].group = "", .kind = Secret,
 *            addresses[].type = IPAddress, allowedListeners.namespaces.from = None
 * ListenerSet: the listener defaults above, parentRef.group/kind
 * HTTPRoute: rules = [{matches: [{path: {type: PathPrefix, value: /}}]}], rules[].matches likewise,
 *            matches[].path likewise (type PathPrefix, value /), headers[]/queryParams[].type = Exact,
 *            parentRefs[].group = gateway.networking.k8s.io, .kind = Gateway,
 *            backendRefs[].group = "", .kind = Service, .weight = 1,
 *            requestRedirect.statusCode = 302, requestMirror.backendRef.group/kind,
 *            requestMirror.fraction.denominator = 100, cors.maxAge = 5
 * GRPCRoute: the same parentRef/backendRef/filter defaults; headers[]/method type = Exact
 * TLS/TCP/UDPRoute: parentRefs[] and backendRefs[] defaults
 * Service:   type = ClusterIP, ports[].protocol = TCP, ports[].targetPort = port
 * EndpointSlice: ports[].protocol = TCP
 * Secret:    type = Opaque
 */

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function missing(o: Obj, key: string): boolean {
  return o[key] === undefined || o[key] === null;
}

function setDefault(o: unknown, key: string, value: unknown): void {
  if (isObj(o) && missing(o, key)) o[key] = structuredClone(value);
}

function each(list: unknown, fn: (item: Obj) => void): void {
  if (Array.isArray(list)) for (const item of list) if (isObj(item)) fn(item);
}

const GW = 'gateway.networking.k8s.io';
const ROOT_PATH_MATCH = { type: 'PathPrefix', value: '/' };

function defaultParentRefs(spec: Obj): void {
  each(spec.parentRefs, (p) => {
    setDefault(p, 'group', GW);
    setDefault(p, 'kind', 'Gateway');
  });
}

function defaultBackendRef(b: Obj): void {
  setDefault(b, 'group', '');
  setDefault(b, 'kind', 'Service');
}

function defaultHttpFilters(filters: unknown): void {
  each(filters, (f) => {
    if (isObj(f.requestRedirect)) setDefault(f.requestRedirect, 'statusCode', 302);
    if (isObj(f.requestMirror)) {
      if (isObj(f.requestMirror.backendRef)) defaultBackendRef(f.requestMirror.backendRef);
      if (isObj(f.requestMirror.fraction)) setDefault(f.requestMirror.fraction, 'denominator', 100);
    }
    if (isObj(f.cors)) setDefault(f.cors, 'maxAge', 5);
  });
}

function defaultWeightedBackendRefs(rule: Obj, filters: (f: unknown) => void): void {
  each(rule.backendRefs, (b) => {
    defaultBackendRef(b);
    setDefault(b, 'weight', 1);
    filters(b.filters);
  });
}

function defaultListeners(listeners: unknown): void {
  each(listeners, (l) => {
    setDefault(l, 'allowedRoutes', { namespaces: { from: 'Same' } });
    const ar = l.allowedRoutes;
    if (isObj(ar)) {
      setDefault(ar, 'namespaces', { from: 'Same' });
      setDefault(ar.namespaces, 'from', 'Same');
      each(ar.kinds, (k) => setDefault(k, 'group', GW));
    }
    if (isObj(l.tls)) {
      setDefault(l.tls, 'mode', 'Terminate');
      each(l.tls.certificateRefs, (c) => {
        setDefault(c, 'group', '');
        setDefault(c, 'kind', 'Secret');
      });
    }
  });
}

const BY_KIND: Readonly<Record<string, (obj: Obj) => void>> = {
  Gateway(obj) {
    if (!isObj(obj.spec)) return;
    defaultListeners(obj.spec.listeners);
    each(obj.spec.addresses, (a) => setDefault(a, 'type', 'IPAddress'));
    if (isObj(obj.spec.allowedListeners)) {
      setDefault(obj.spec.allowedListeners, 'namespaces', { from: 'None' });
      setDefault(obj.spec.allowedListeners.namespaces, 'from', 'None');
    }
  },
  ListenerSet(obj) {
    if (!isObj(obj.spec)) return;
    defaultListeners(obj.spec.listeners);
    if (isObj(obj.spec.parentRef)) {
      setDefault(obj.spec.parentRef, 'group', GW);
      setDefault(obj.spec.parentRef, 'kind', 'Gateway');
    }
  },
  HTTPRoute(obj) {
    if (!isObj(obj.spec)) return;
    const spec = obj.spec;
    defaultParentRefs(spec);
    setDefault(spec, 'rules', [{ matches: [ROOT_PATH_MATCH] }]);
    each(spec.rules, (rule) => {
      setDefault(rule, 'matches', [{ path: ROOT_PATH_MATCH }]);
      each(rule.matches, (m) => {
        setDefault(m, 'path', ROOT_PATH_MATCH);
        setDefault(m.path, 'type', 'PathPrefix');
        setDefault(m.path, 'value', '/');
        each(m.headers, (h) => setDefault(h, 'type', 'Exact'));
        each(m.queryParams, (q) => setDefault(q, 'type', 'Exact'));
      });
      defaultHttpFilters(rule.filters);
      defaultWeightedBackendRefs(rule, defaultHttpFilters);
    });
  },
  GRPCRoute(obj) {
    if (!isObj(obj.spec)) return;
    defaultParentRefs(obj.spec);
    each(obj.spec.rules, (rule) => {
      each(rule.matches, (m) => {
        each(m.headers, (h) => setDefault(h, 'type', 'Exact'));
        if (isObj(m.method)) setDefault(m.method, 'type', 'Exact');
      });
      defaultHttpFilters(rule.filters);
      defaultWeightedBackendRefs(rule, defaultHttpFilters);
    });
  },
  Service(obj) {
    if (!isObj(obj.spec)) return;
    setDefault(obj.spec, 'type', 'ClusterIP');
    each(obj.spec.ports, (p) => {
      setDefault(p, 'protocol', 'TCP');
      if (p.port !== undefined) setDefault(p, 'targetPort', p.port);
    });
  },
  EndpointSlice(obj) {
    each(obj.ports, (p) => setDefault(p, 'protocol', 'TCP'));
  },
  Secret(obj) {
    setDefault(obj, 'type', 'Opaque');
  },
};

function defaultL4Route(obj: Obj): void {
  if (!isObj(obj.spec)) return;
  defaultParentRefs(obj.spec);
  each(obj.spec.rules, (rule) => defaultWeightedBackendRefs(rule, () => {}));
}

/** Fill in API-server defaults, in place. `obj` must be a fresh copy the caller owns. */
export function applyDefaults(kind: string, obj: Obj): void {
  const fn = kind === 'TLSRoute' || kind === 'TCPRoute' || kind === 'UDPRoute'
    ? defaultL4Route
    : kind === 'XListenerSet' ? BY_KIND.ListenerSet : BY_KIND[kind];
  fn?.(obj);
}
