import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { Gateway } from '../model/objects.js';
import type { GatewayRef, RouteTable } from '../translate/ir.js';
import type { KubeObject } from './client.js';

/**
 * Pure builders for the per-Gateway Service. Pods of the Sluice DaemonSet
 * live in Sluice's own namespace while the Service lives in the Gateway's
 * namespace, and a Service selector cannot cross namespaces; so the Service
 * has no selector and we publish its EndpointSlice ourselves, listing the
 * DaemonSet pods (the same scheme Kubernetes uses for any selector-less
 * Service).
 */

export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'sluice';
export const MANAGED_LABELS_ANNOTATION = 'sluice.dev/managed-labels';
export const MANAGED_ANNOTATIONS_ANNOTATION = 'sluice.dev/managed-annotations';
export const ENDPOINTSLICE_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export type GatewayServiceType = 'LoadBalancer' | 'NodePort' | 'ClusterIP';

export interface GatewayServiceConfig {
  readonly type: GatewayServiceType;
  readonly controllerName: string;
  /** apiVersion of Gateway objects, for ownerReferences. */
  readonly gatewayApiVersion: string;
  /** Labels and annotations on every generated Service (chart values); Gateway infrastructure wins on conflicts. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/** "sluice-<gateway>", shortened with a hash suffix to fit the 63-character DNS label limit. */
export function gatewayServiceName(gatewayName: string): string {
  const name = `sluice-${gatewayName}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(gatewayName).digest('hex').slice(0, 8);
  return `${name.slice(0, 54).replace(/[-.]+$/, '')}-${hash}`;
}

/** The ports the data plane binds for a Gateway, from the applied route table. */
export function listenerPorts(table: RouteTable | undefined, gw: GatewayRef): ServicePort[] {
  const seen = new Map<string, ServicePort>();
  for (const p of table?.ports ?? []) {
    if (!p.listeners.some((l) => l.gateway.namespace === gw.namespace && l.gateway.name === gw.name)) continue;
    const protocol = p.protocol === 'UDP' ? 'UDP' : 'TCP';
    const key = `${protocol}/${p.port}`;
    if (!seen.has(key)) seen.set(key, { name: `${protocol.toLowerCase()}-${p.port}`, port: p.port, protocol });
  }
  return [...seen.values()].sort((a, b) => a.port - b.port || (a.protocol < b.protocol ? -1 : 1));
}

function ownerRef(gw: Gateway, config: GatewayServiceConfig): NonNullable<NonNullable<KubeObject['metadata']>['ownerReferences']>[number] {
  return { apiVersion: config.gatewayApiVersion, kind: 'Gateway', name: gw.metadata?.name ?? '', uid: gw.metadata?.uid ?? '', controller: true };
}

/** Our labels for the Service: defaults, then the Gateway's spec.infrastructure.labels, then the fixed ones. */
export function serviceLabels(gw: Gateway, config: GatewayServiceConfig): Record<string, string> {
  return {
    ...(config.labels ?? {}),
    ...(gw.spec.infrastructure?.labels ?? {}),
    [GATEWAY_NAME_LABEL]: gw.metadata?.name ?? '',
    [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
  };
}

export function serviceAnnotations(gw: Gateway, config: GatewayServiceConfig): Record<string, string> {
  return { ...(config.annotations ?? {}), ...(gw.spec.infrastructure?.annotations ?? {}) };
}

export function desiredService(gw: Gateway, ports: readonly ServicePort[], config: GatewayServiceConfig): KubeObject {
  const labels = serviceLabels(gw, config);
  const annotations = serviceAnnotations(gw, config);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: gatewayServiceName(gw.metadata?.name ?? ''),
      namespace: gw.metadata?.namespace ?? 'default',
      labels,
      annotations: {
        ...annotations,
        [MANAGED_LABELS_ANNOTATION]: Object.keys(labels).sort().join(','),
        [MANAGED_ANNOTATIONS_ANNOTATION]: Object.keys(annotations).sort().join(','),
      },
      ownerReferences: [ownerRef(gw, config)],
    },
    spec: {
      type: config.type,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol })),
    },
  };
}

/** True when `obj` is controlled by this very Gateway (same uid). */
export function controlledBy(obj: KubeObject, gw: Gateway): boolean {
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.controller && r.kind === 'Gateway' && r.uid === gw.metadata?.uid);
}

function splitKeys(value: string | undefined): string[] {
  return value ? value.split(',').filter(Boolean) : [];
}

interface LivePort { name?: string; port?: number; protocol?: string; targetPort?: number | string; nodePort?: number }

/**
 * A JSON merge patch that brings the live Service to the desired state, or
 * undefined when nothing we manage differs. Labels and annotations that we set
 * earlier but no longer want are removed (we remember which keys are ours in
 * an annotation); keys other controllers added are left alone. nodePorts the
 * server allocated are kept.
 */
export function servicePatch(live: KubeObject, desired: KubeObject): Record<string, unknown> | undefined {
  const dm = desired.metadata!;
  const lm = live.metadata ?? {};
  const labels = keyedPatch(lm.labels, dm.labels ?? {}, splitKeys(lm.annotations?.[MANAGED_LABELS_ANNOTATION]));
  const annotations = keyedPatch(lm.annotations, dm.annotations ?? {}, splitKeys(lm.annotations?.[MANAGED_ANNOTATIONS_ANNOTATION]));
  const ds = desired.spec as { type: string; ports: LivePort[] };
  const ls = (live.spec ?? {}) as { type?: string; ports?: LivePort[]; selector?: Record<string, string> };
  const keepNodePorts = ds.type !== 'ClusterIP';
  const ports = ds.ports.map((p) => {
    const old = (ls.ports ?? []).find((o) => o.port === p.port && (o.protocol ?? 'TCP') === p.protocol);
    return keepNodePorts && old?.nodePort ? { ...p, nodePort: old.nodePort } : p;
  });
  const livePorts = (ls.ports ?? []).map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: p.protocol ?? 'TCP', ...(keepNodePorts && p.nodePort ? { nodePort: p.nodePort } : {}) }));
  const spec: Record<string, unknown> = {};
  if (ls.type !== ds.type) spec.type = ds.type;
  // On a type change the whole list is sent, so nodePorts vanish when leaving NodePort/LoadBalancer.
  if (spec.type || JSON.stringify(livePorts) !== JSON.stringify(ports)) spec.ports = ports;
  // A selector on our Service would fight our EndpointSlice; someone added one: drop it.
  if (ls.selector && Object.keys(ls.selector).length > 0) spec.selector = null;
  const metadata: Record<string, unknown> = {};
  if (labels) metadata.labels = labels;
  if (annotations) metadata.annotations = annotations;
  if (Object.keys(spec).length === 0 && Object.keys(metadata).length === 0) return undefined;
  return {
    metadata: { ...metadata, resourceVersion: lm.resourceVersion },
    ...(Object.keys(spec).length ? { spec } : {}),
  };
}

function keyedPatch(
  live: Readonly<Record<string, string>> | undefined,
  desired: Readonly<Record<string, string>>,
  previouslyOurs: readonly string[],
): Record<string, string | null> | undefined {
  const patch: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(desired)) if (live?.[k] !== v) patch[k] = v;
  for (const k of previouslyOurs) if (!(k in desired) && live && k in live) patch[k] = null;
  return Object.keys(patch).length ? patch : undefined;
}

/** A DaemonSet pod as the EndpointSlice needs it. */
export interface GatewayPod {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly ip: string;
  readonly hostIP?: string;
  readonly nodeName?: string;
  readonly ready: boolean;
  readonly terminating: boolean;
}

/** Running pods with an IPv4 address, sorted by name. */
export function gatewayPods(pods: readonly KubeObject[]): GatewayPod[] {
  const out: GatewayPod[] = [];
  for (const p of pods) {
    const status = (p.status ?? {}) as { podIP?: string; hostIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }> };
    const spec = (p.spec ?? {}) as { nodeName?: string };
    if (!status.podIP || !isIPv4(status.podIP) || status.phase !== 'Running') continue;
    out.push({
      name: p.metadata?.name ?? '',
      namespace: p.metadata?.namespace ?? '',
      uid: p.metadata?.uid ?? '',
      ip: status.podIP,
      hostIP: status.hostIP,
      nodeName: spec.nodeName,
      ready: (status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      terminating: Boolean(p.metadata?.deletionTimestamp),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function desiredEndpointSlice(service: KubeObject, gw: Gateway, pods: readonly GatewayPod[], ports: readonly ServicePort[], controllerName: string): KubeObject {
  const name = service.metadata?.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: service.metadata?.namespace,
      labels: {
        [SERVICE_NAME_LABEL]: name,
        [ENDPOINTSLICE_MANAGED_BY]: controllerName.replace(/\//g, '.'),
        [GATEWAY_NAME_LABEL]: gw.metadata?.name ?? '',
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: service.metadata?.uid ?? '', controller: true }],
    },
    addressType: 'IPv4',
    endpoints: pods.map((p) => ({
      addresses: [p.ip],
      conditions: { ready: p.ready && !p.terminating, serving: p.ready, terminating: p.terminating },
      ...(p.nodeName ? { nodeName: p.nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: p.namespace, name: p.name, uid: p.uid },
    })),
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
  };
}

/** Whether the live EndpointSlice already says what the desired one says. */
export function endpointSliceEqual(live: KubeObject, desired: KubeObject): boolean {
  const pick = (o: KubeObject): string =>
    JSON.stringify({
      endpoints: ((o.endpoints as unknown[] | undefined) ?? []).map((e) => {
        const x = e as { addresses?: string[]; conditions?: Record<string, boolean>; nodeName?: string; targetRef?: { name?: string; uid?: string } };
        return [x.addresses, x.conditions?.ready ?? false, x.conditions?.serving ?? false, x.conditions?.terminating ?? false, x.nodeName ?? '', x.targetRef?.name, x.targetRef?.uid];
      }),
      ports: ((o.ports as unknown[] | undefined) ?? []).map((p) => {
        const x = p as { name?: string; port?: number; protocol?: string };
        return [x.name, x.port, x.protocol ?? 'TCP'];
      }),
      labels: Object.fromEntries(Object.entries(desired.metadata?.labels ?? {}).map(([k]) => [k, o.metadata?.labels?.[k]])),
    });
  return pick(live) === pick(desired);
}

export interface GatewayAddress {
  readonly type: 'IPAddress' | 'Hostname';
  readonly value: string;
}

/** What a Gateway's Service says its addresses are: load-balancer ingress, external IPs, else the cluster IP for non-LB types. */
export function serviceAddresses(service: KubeObject | undefined): GatewayAddress[] {
  if (!service) return [];
  const status = (service.status ?? {}) as { loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> } };
  const spec = (service.spec ?? {}) as { type?: string; externalIPs?: string[]; clusterIP?: string };
  const out: GatewayAddress[] = [];
  for (const ing of status.loadBalancer?.ingress ?? []) {
    if (ing.ip) out.push({ type: 'IPAddress', value: ing.ip });
    else if (ing.hostname) out.push({ type: 'Hostname', value: ing.hostname });
  }
  for (const ip of spec.externalIPs ?? []) out.push({ type: 'IPAddress', value: ip });
  if (out.length === 0 && spec.type !== 'LoadBalancer' && spec.clusterIP && spec.clusterIP !== 'None') {
    out.push({ type: 'IPAddress', value: spec.clusterIP });
  }
  return dedupe(out).slice(0, 16);
}

/** hostNetwork mode: the nodes running ready gateway pods are the Gateway's addresses. */
export function hostNetworkAddresses(pods: readonly GatewayPod[]): GatewayAddress[] {
  return dedupe(pods.filter((p) => p.ready && !p.terminating && p.hostIP).map((p) => ({ type: 'IPAddress' as const, value: p.hostIP! }))).slice(0, 16);
}

function dedupe(addrs: readonly GatewayAddress[]): GatewayAddress[] {
  const seen = new Set<string>();
  return addrs.filter((a) => {
    const k = `${a.type}/${a.value}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  }).sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
}
