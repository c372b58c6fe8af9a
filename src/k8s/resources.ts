import { GATEWAY_GROUP } from '../model/objects.js';

/** Where a kind lives in the REST API. */
export interface ResourceSpec {
  readonly kind: string;
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export function apiVersionOf(r: Pick<ResourceSpec, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

function groupRoot(r: Pick<ResourceSpec, 'group' | 'version'>): string {
  return r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
}

/** The collection path; all namespaces when `namespace` is omitted for a namespaced kind. */
export function collectionPath(r: ResourceSpec, namespace?: string): string {
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupRoot(r)}${ns}/${r.plural}`;
}

export function objectPath(r: ResourceSpec, namespace: string | undefined, name: string, subresource?: string): string {
  const base = `${collectionPath(r, r.namespaced ? namespace : undefined)}/${encodeURIComponent(name)}`;
  return subresource ? `${base}/${subresource}` : base;
}

export const CORE_RESOURCES = {
  Service: { kind: 'Service', group: '', version: 'v1', plural: 'services', namespaced: true },
  Secret: { kind: 'Secret', group: '', version: 'v1', plural: 'secrets', namespaced: true },
  ConfigMap: { kind: 'ConfigMap', group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  Namespace: { kind: 'Namespace', group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  Pod: { kind: 'Pod', group: '', version: 'v1', plural: 'pods', namespaced: true },
  Event: { kind: 'Event', group: '', version: 'v1', plural: 'events', namespaced: true },
  EndpointSlice: { kind: 'EndpointSlice', group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', namespaced: true },
  Lease: { kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true },
} as const satisfies Record<string, ResourceSpec>;

/** A Gateway API kind we may watch, with the group(s) and plural it can be served under. */
export interface GatewayKindSpec {
  readonly kind: string;
  readonly group: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Sluice cannot do anything useful without it. */
  readonly required: boolean;
  /** Served only when `instead` is not (e.g. the experimental XListenerSet before ListenerSet went GA). */
  readonly fallbackFor?: string;
}

export const GATEWAY_KINDS: readonly GatewayKindSpec[] = [
  { kind: 'GatewayClass', group: GATEWAY_GROUP, plural: 'gatewayclasses', namespaced: false, required: true },
  { kind: 'Gateway', group: GATEWAY_GROUP, plural: 'gateways', namespaced: true, required: true },
  { kind: 'HTTPRoute', group: GATEWAY_GROUP, plural: 'httproutes', namespaced: true, required: true },
  { kind: 'ReferenceGrant', group: GATEWAY_GROUP, plural: 'referencegrants', namespaced: true, required: true },
  { kind: 'GRPCRoute', group: GATEWAY_GROUP, plural: 'grpcroutes', namespaced: true, required: false },
  { kind: 'TLSRoute', group: GATEWAY_GROUP, plural: 'tlsroutes', namespaced: true, required: false },
  { kind: 'TCPRoute', group: GATEWAY_GROUP, plural: 'tcproutes', namespaced: true, required: false },
  { kind: 'UDPRoute', group: GATEWAY_GROUP, plural: 'udproutes', namespaced: true, required: false },
  { kind: 'ListenerSet', group: GATEWAY_GROUP, plural: 'listenersets', namespaced: true, required: false },
  { kind: 'BackendTLSPolicy', group: GATEWAY_GROUP, plural: 'backendtlspolicies', namespaced: true, required: false },
  {
    kind: 'XListenerSet', group: 'gateway.networking.x-k8s.io', plural: 'xlistenersets', namespaced: true, required: false,
    fallbackFor: 'ListenerSet',
  },
];

/**
 * Where a kind's objects are served: the kind itself, or the fallback kind
 * standing in for it (ListenerSet served as XListenerSet on older CRDs).
 */
export function resourceForKind(resources: ReadonlyMap<string, ResourceSpec>, kind: string): ResourceSpec | undefined {
  const own = resources.get(kind);
  if (own) return own;
  const fallback = GATEWAY_KINDS.find((k) => k.fallbackFor === kind);
  return fallback ? resources.get(fallback.kind) : undefined;
}
