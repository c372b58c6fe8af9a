// Kubernetes object shapes Sluice reads. Gateway API types come from
// @kubernetes-models/gateway-api (generated from the upstream CRDs); core types
// from kubernetes-models. We re-export the interfaces under short names so the
// rest of the code does not depend on the generator's naming.
export type { IGatewayClass as GatewayClass } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass';
export type { IGateway as Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
export type { IHTTPRoute as HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
export type { IGRPCRoute as GRPCRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GRPCRoute';
export type { ITLSRoute as TLSRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/TLSRoute';
export type { ITCPRoute as TCPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/TCPRoute';
export type { IUDPRoute as UDPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/UDPRoute';
export type { IReferenceGrant as ReferenceGrant } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/ReferenceGrant';
export type { IBackendTLSPolicy as BackendTLSPolicy } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/BackendTLSPolicy';
export type { IListenerSet as ListenerSet } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/ListenerSet';
export type { IService as Service } from 'kubernetes-models/v1/Service';
export type { ISecret as Secret } from 'kubernetes-models/v1/Secret';
export type { IConfigMap as ConfigMap } from 'kubernetes-models/v1/ConfigMap';
export type { INamespace as Namespace } from 'kubernetes-models/v1/Namespace';
export type { IEndpointSlice as EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const DEFAULT_CONTROLLER_NAME = 'sluice.dev/gateway-controller';
export const DEFAULT_GATEWAY_CLASS = 'sluice';

/** The identity every object is indexed by. */
export interface ObjectKey {
  readonly kind: string;
  readonly namespace: string; // '' for cluster-scoped objects
  readonly name: string;
}

export function keyString(k: ObjectKey): string {
  return k.namespace ? `${k.kind}/${k.namespace}/${k.name}` : `${k.kind}/${k.name}`;
}
