import { GATEWAY_GROUP } from '../model/objects.js';
import type { TranslateContext } from './context.js';
import { Reason } from './conditions.js';
import type { ClusterIR, EndpointIR } from './ir.js';
import type { Problem } from './types.js';

export interface BackendObjectRef {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
}

export type BackendResolution = { readonly cluster: string; readonly problem?: undefined } | { readonly cluster?: undefined; readonly problem: Problem };

/**
 * Resolve a backendRef to an upstream cluster (created in ctx.clusters on
 * first use). Only core Services are supported. A reference into another
 * namespace needs a ReferenceGrant from the route. `h2c` forces an h2c
 * cluster (GRPCRoute backends); `l4` makes a raw 'tcp' or 'udp' cluster
 * (TLSRoute/TCPRoute or UDPRoute backends) from the Service's TCP or UDP port.
 */
export function resolveBackendRef(
  ref: BackendObjectRef,
  from: { readonly kind: string; readonly namespace: string },
  ctx: TranslateContext,
  opts: { readonly h2c?: boolean; readonly l4?: 'tcp' | 'udp' } = {},
): BackendResolution {
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Service';
  const namespace = ref.namespace ?? from.namespace;
  if (group !== '' || kind !== 'Service') {
    return { problem: { reason: Reason.InvalidKind, message: `backend kind ${group === '' ? 'core' : group}/${kind} is not supported; only core Services` } };
  }
  if (!ctx.referenceAllowed({ group: GATEWAY_GROUP, kind: from.kind, namespace: from.namespace }, { group: '', kind: 'Service', namespace, name: ref.name })) {
    return { problem: { reason: Reason.RefNotPermitted, message: `Service ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows ${from.kind}s from ${from.namespace}` } };
  }
  const service = ctx.service(namespace, ref.name);
  if (service === undefined) return { problem: { reason: Reason.BackendNotFound, message: `Service ${namespace}/${ref.name} not found` } };
  if (ref.port === undefined) return { problem: { reason: Reason.BackendNotFound, message: `backendRef to Service ${namespace}/${ref.name} has no port` } };
  const external = service.spec?.type === 'ExternalName' ? service.spec.externalName : undefined;
  const transport = opts.l4 === 'udp' ? 'UDP' : 'TCP';
  const svcPort = (service.spec?.ports ?? []).find((p) => p.port === ref.port && (p.protocol ?? 'TCP') === transport);
  if (svcPort === undefined && external === undefined) {
    return { problem: { reason: Reason.BackendNotFound, message: `Service ${namespace}/${ref.name} has no ${transport} port ${ref.port}` } };
  }
  if (opts.l4 !== undefined) return { cluster: ensureCluster(ctx, `${namespace}/${ref.name}:${ref.port}/${opts.l4}`, opts.l4, namespace, ref.name, ref.port, svcPort?.name ?? '', external, transport) };
  const appProtocol = svcPort?.appProtocol;
  if (appProtocol === 'kubernetes.io/wss') {
    return { problem: { reason: 'UnsupportedProtocol', message: `Service ${namespace}/${ref.name} port ${ref.port} has appProtocol ${appProtocol}, which needs TLS to the backend (not supported)` } };
  }
  const natural: ClusterIR['protocol'] = appProtocol === 'kubernetes.io/h2c' ? 'h2c' : 'http1';
  const protocol: ClusterIR['protocol'] = opts.h2c ? 'h2c' : natural;
  const id = `${namespace}/${ref.name}:${ref.port}${protocol !== natural ? `/${protocol}` : ''}`;
  return { cluster: ensureCluster(ctx, id, protocol, namespace, ref.name, ref.port, svcPort?.name ?? '', external, 'TCP') };
}

function ensureCluster(
  ctx: TranslateContext, id: string, protocol: ClusterIR['protocol'], namespace: string, service: string, port: number,
  portName: string, external: string | undefined, transport: 'TCP' | 'UDP',
): string {
  if (!ctx.clusters.has(id)) {
    const endpoints = external !== undefined ? [{ address: external, port }] : serviceEndpoints(ctx, namespace, service, portName, transport);
    const policy = protocol === 'http1' || protocol === 'h2c' ? ctx.backendTLS.forServicePort(namespace, service, portName) : undefined;
    if (policy?.unusable !== undefined) {
      // The spec: connections through a policy with an invalid CA reference must fail (5xx); no endpoints gives 503.
      ctx.warn({ object: { kind: 'BackendTLSPolicy', ...policy.policy }, code: 'BackendTLSPolicyUnusable', message: `traffic to Service ${namespace}/${service} port ${port} fails: ${policy.unusable}` });
      ctx.clusters.set(id, { id, protocol, endpoints: [] });
    } else {
      ctx.clusters.set(id, { id, protocol, endpoints, ...(policy?.tls ? { tls: policy.tls } : {}) });
    }
    ctx.backendTLS.registerCluster(id, namespace, service, portName);
  }
  return id;
}

/** Ready endpoints of a Service port, from its EndpointSlices, matched by port name and protocol; sorted and de-duplicated. */
function serviceEndpoints(ctx: TranslateContext, namespace: string, service: string, portName: string, transport: 'TCP' | 'UDP'): EndpointIR[] {
  const seen = new Set<string>();
  const out: EndpointIR[] = [];
  for (const slice of ctx.endpointSlices(namespace, service)) {
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === transport);
    if (port?.port === undefined) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses ?? []) {
        const key = `${address}|${port.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ address, port: port.port });
      }
    }
  }
  out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port));
  return out;
}
