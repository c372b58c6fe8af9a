import type {
  BackendTLSPolicy, ConfigMap, EndpointSlice, GatewayClass, Gateway, GRPCRoute, HTTPRoute, ListenerSet,
  Namespace, ReferenceGrant, Secret, Service, TCPRoute, TLSRoute, UDPRoute,
} from '../model/objects.js';

/**
 * A consistent, read-only view of every object the translator reads.
 * Sources (YAML file, Kubernetes informers) build snapshots; they know nothing
 * of Gateway API semantics. Objects are normalised before they get here:
 * metadata.namespace is set for namespaced kinds, Namespaces carry the
 * kubernetes.io/metadata.name label, Secret stringData is folded into data.
 */
export interface Snapshot {
  readonly gatewayClasses: readonly GatewayClass[];
  readonly gateways: readonly Gateway[];
  readonly listenerSets: readonly ListenerSet[];
  readonly httpRoutes: readonly HTTPRoute[];
  readonly grpcRoutes: readonly GRPCRoute[];
  readonly tlsRoutes: readonly TLSRoute[];
  readonly tcpRoutes: readonly TCPRoute[];
  readonly udpRoutes: readonly UDPRoute[];
  readonly referenceGrants: readonly ReferenceGrant[];
  readonly backendTLSPolicies: readonly BackendTLSPolicy[];
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly secrets: readonly Secret[];
  readonly configMaps: readonly ConfigMap[];
  readonly namespaces: readonly Namespace[];
}

export function emptySnapshot(): Snapshot {
  return {
    gatewayClasses: [], gateways: [], listenerSets: [], httpRoutes: [], grpcRoutes: [], tlsRoutes: [],
    tcpRoutes: [], udpRoutes: [], referenceGrants: [], backendTLSPolicies: [], services: [],
    endpointSlices: [], secrets: [], configMaps: [], namespaces: [],
  };
}
