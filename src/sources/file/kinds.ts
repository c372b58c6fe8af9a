import { GatewayClass } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass';
import { Gateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { GRPCRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GRPCRoute';
import { TLSRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/TLSRoute';
import { ListenerSet } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/ListenerSet';
import { BackendTLSPolicy } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/BackendTLSPolicy';
import { ReferenceGrant } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/ReferenceGrant';
import { TCPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/TCPRoute';
import { UDPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1alpha2/UDPRoute';
import { Service } from 'kubernetes-models/v1/Service';
import { Secret } from 'kubernetes-models/v1/Secret';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';

/** A generated model class: constructing it copies the data, validate() throws an ajv ValidationError. */
type ModelClass = (new (data: Record<string, unknown>) => { validate(): void }) & { apiVersion: string; kind: string };

export interface KindSpec {
  /** apiVersions a user may write; the first is the one objects are stored as (what an informer on it would return). */
  readonly apiVersions: readonly string[];
  /** The model whose JSON schema validates this kind. Served versions of a kind share one schema in v1.6.1. */
  readonly model: ModelClass;
}

const GW = 'gateway.networking.k8s.io';

/**
 * Kinds the file source accepts. The versions are those the v1.6.1 CRDs serve
 * (standard and experimental channels), plus the brief's older ones: v1alpha2
 * TCPRoute/UDPRoute/TLSRoute are still common in existing manifests.
 * TCPRoute/UDPRoute v1 have no model class yet; their v1 schema is the
 * v1alpha2 one with the apiVersion changed, so the v1alpha2 model validates both.
 */
export const FILE_KINDS: Readonly<Record<string, KindSpec>> = {
  GatewayClass: { apiVersions: [`${GW}/v1`, `${GW}/v1beta1`], model: GatewayClass as unknown as ModelClass },
  Gateway: { apiVersions: [`${GW}/v1`, `${GW}/v1beta1`], model: Gateway as unknown as ModelClass },
  HTTPRoute: { apiVersions: [`${GW}/v1`, `${GW}/v1beta1`], model: HTTPRoute as unknown as ModelClass },
  GRPCRoute: { apiVersions: [`${GW}/v1`], model: GRPCRoute as unknown as ModelClass },
  TLSRoute: { apiVersions: [`${GW}/v1`, `${GW}/v1alpha2`, `${GW}/v1alpha3`], model: TLSRoute as unknown as ModelClass },
  TCPRoute: { apiVersions: [`${GW}/v1`, `${GW}/v1alpha2`], model: TCPRoute as unknown as ModelClass },
  UDPRoute: { apiVersions: [`${GW}/v1`, `${GW}/v1alpha2`], model: UDPRoute as unknown as ModelClass },
  ReferenceGrant: { apiVersions: [`${GW}/v1`, `${GW}/v1beta1`], model: ReferenceGrant as unknown as ModelClass },
  ListenerSet: { apiVersions: [`${GW}/v1`], model: ListenerSet as unknown as ModelClass },
  XListenerSet: { apiVersions: ['gateway.networking.x-k8s.io/v1alpha1'], model: ListenerSet as unknown as ModelClass },
  BackendTLSPolicy: { apiVersions: [`${GW}/v1`, `${GW}/v1alpha3`], model: BackendTLSPolicy as unknown as ModelClass },
  Service: { apiVersions: ['v1'], model: Service as unknown as ModelClass },
  Secret: { apiVersions: ['v1'], model: Secret as unknown as ModelClass },
  ConfigMap: { apiVersions: ['v1'], model: ConfigMap as unknown as ModelClass },
  Namespace: { apiVersions: ['v1'], model: Namespace as unknown as ModelClass },
  EndpointSlice: { apiVersions: ['discovery.k8s.io/v1'], model: EndpointSlice as unknown as ModelClass },
};

export function fileKind(kind: string): KindSpec | undefined {
  return Object.hasOwn(FILE_KINDS, kind) ? FILE_KINDS[kind] : undefined;
}
