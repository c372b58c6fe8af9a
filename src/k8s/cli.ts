import { UsageError } from '../errors.js';
import type { AccessLogDestination } from '../dataplane/accesslog.js';
import { GatewayAddressPool } from './address-pool.js';
import { startKubernetesGateway, type EbpfOption, type KubernetesGatewayOptions, type RunningKubernetesGateway, type ServiceTypeOption } from './controller.js';

export interface KubernetesRunValues {
  readonly kubeconfig?: string;
  readonly namespace?: string;
  readonly 'lease-name'?: string;
  readonly 'gateway-address-pool'?: string;
  readonly 'service-type'?: string;
  readonly 'service-annotation'?: readonly string[];
  readonly 'pod-selector'?: string;
  readonly 'host-network'?: boolean;
  readonly ebpf?: string;
}

/** Options `sluice run` shares between file and Kubernetes mode. */
export interface KubernetesCommonOptions {
  readonly admin: string;
  readonly controllerName?: string;
  readonly logLevel?: string;
  readonly drainMs?: number;
  readonly accessLog?: AccessLogDestination;
  /** Idle timeout of L4 connections relayed in userspace (--tcp-idle-timeout). */
  readonly tcpIdleTimeoutMs?: number;
}

const SERVICE_TYPES: readonly ServiceTypeOption[] = ['LoadBalancer', 'NodePort', 'ClusterIP', 'None'];
const EBPF_MODES: readonly EbpfOption[] = ['auto', 'on', 'off'];

/** Validate the flags and turn them into startKubernetesGateway options. */
export function kubernetesOptionsFromArgs(
  values: KubernetesRunValues,
  common: KubernetesCommonOptions,
): KubernetesGatewayOptions {
  const serviceType = values['service-type'] ?? 'LoadBalancer';
  if (!SERVICE_TYPES.includes(serviceType as ServiceTypeOption)) {
    throw new UsageError(`--service-type must be one of ${SERVICE_TYPES.join(', ')}`);
  }
  const ebpf = values.ebpf;
  if (ebpf !== undefined && !EBPF_MODES.includes(ebpf as EbpfOption)) throw new UsageError(`--ebpf must be one of ${EBPF_MODES.join(', ')}`);
  const pool = values['gateway-address-pool'];
  if (pool) new GatewayAddressPool(pool); // validates, throws UsageError
  return {
    ...common,
    kubeconfig: values.kubeconfig,
    namespace: values.namespace,
    leaseName: values['lease-name'],
    gatewayAddressPool: pool,
    serviceType: serviceType as ServiceTypeOption,
    serviceAnnotations: values['service-annotation'] ? parsePairs(values['service-annotation'], '--service-annotation') : undefined,
    podSelector: values['pod-selector'] ? parsePairs(values['pod-selector'].split(','), '--pod-selector') : undefined,
    hostNetwork: values['host-network'] ?? false,
    ...(ebpf ? { ebpf: ebpf as EbpfOption } : {}),
  };
}

export function parsePairs(items: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag}: expected KEY=VALUE, got "${item}"`);
    out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
  }
  return out;
}

/** The `sluice run --kubernetes` branch. */
export function startKubernetesFromArgs(
  values: KubernetesRunValues,
  common: KubernetesCommonOptions,
): Promise<RunningKubernetesGateway> {
  return startKubernetesGateway(kubernetesOptionsFromArgs(values, common));
}
