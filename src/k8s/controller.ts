/**
 * `sluice run --kubernetes`: the whole Kubernetes mode in one process.
 *
 *   informers -> Snapshot -> GatewayEngine (translate -> data plane) -> statuses
 *                                                   |                     |
 *                        Service reconciler (leader) <- route table        -> StatusWriter (leader)
 *
 * Every replica watches, translates and serves the same table; only the Lease
 * holder writes status and manages the per-Gateway Services.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { KubeConfig } from '@kubernetes/client-node';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import type { AccessLogDestination } from '../dataplane/accesslog.js';
import { DEFAULT_CONTROLLER_NAME, type Gateway } from '../model/objects.js';
import { GatewayEngine, type DataPlaneDriver, type Translator } from '../runner/engine.js';
import { KubernetesSource } from '../sources/kubernetes/index.js';
import { Debouncer } from '../sources/kubernetes/debounce.js';
import { ResilientInformer, shrinkObject } from '../sources/kubernetes/informer.js';
import type { Snapshot } from '../store/snapshot.js';
import { createLogger, type Logger } from '../util/log.js';
import { GatewayAddressPool } from './address-pool.js';
import { errorMessage, KubeClient } from './client.js';
import { discoverGatewayResources } from './discovery.js';
import {
  gatewayPods, gatewayServiceName, hostNetworkAddresses, serviceAddresses, type GatewayAddress, type GatewayPod, type GatewayServiceType,
} from './gateway-service.js';
import { LeaderElector } from './leader.js';
import { apiVersionOf, CORE_RESOURCES, type ResourceSpec } from './resources.js';
import { GatewayServiceReconciler } from './service-reconciler.js';
import { StatusWriter } from './status-writer.js';

export type ServiceTypeOption = GatewayServiceType | 'None';
/** Same values as src/native's EbpfMode. */
export type EbpfOption = 'auto' | 'on' | 'off';

export interface KubernetesGatewayOptions {
  /** Path of a kubeconfig; in-cluster credentials (or $KUBECONFIG) when omitted. */
  readonly kubeconfig?: string;
  /** A ready KubeConfig (tests use it for impersonation); wins over `kubeconfig`. */
  readonly kubeConfig?: KubeConfig;
  /** Admin server HOST:PORT (/healthz /readyz /metrics /config_dump). */
  readonly admin: string;
  readonly controllerName?: string;
  readonly logLevel?: string;
  readonly logger?: Logger;
  readonly drainMs?: number;
  /** Namespace of the leader Lease (default: $POD_NAMESPACE, the in-cluster namespace, or "default"). */
  readonly namespace?: string;
  readonly leaseName?: string;
  /** Leader election identity (default: $POD_NAME, else host name and pid). */
  readonly identity?: string;
  readonly leaderElection?: { readonly leaseDurationMs?: number; readonly renewDeadlineMs?: number; readonly retryPeriodMs?: number };
  /** CIDR to give every Gateway without spec.addresses its own address (test harnesses). */
  readonly gatewayAddressPool?: string;
  /** Type of the per-Gateway Service; "None" creates none (default LoadBalancer). */
  readonly serviceType?: ServiceTypeOption;
  readonly serviceAnnotations?: Readonly<Record<string, string>>;
  readonly serviceLabels?: Readonly<Record<string, string>>;
  /** Labels of the Sluice DaemonSet pods (default app.kubernetes.io/name=sluice). */
  readonly podSelector?: Readonly<Record<string, string>>;
  /** Namespace of the Sluice pods (default: the Lease namespace). */
  readonly podNamespace?: string;
  /** Pods use the host network: Gateway addresses are the IPs of the nodes that run them. */
  readonly hostNetwork?: boolean;
  /** Field manager for writes (default "sluice"). */
  readonly fieldManager?: string;
  /**
   * Kernel splicing of L4 connections, handed to the data plane as its `ebpf`
   * option (the data plane decides what auto/on/off mean; see src/native).
   */
  readonly ebpf?: EbpfOption;
  /** Idle timeout of TCPRoute/TLSRoute connections relayed in userspace (L4Options.tcpIdleTimeoutMs). */
  readonly tcpIdleTimeoutMs?: number;
  /** One JSON access log line per request: true/'stdout' (default), false/'off', or { path } to append to a file. */
  readonly accessLog?: boolean | AccessLogDestination;
  /** Replace the data plane (tests run several controllers in one process). */
  readonly dataPlane?: DataPlaneDriver & { drain?(ms: number): Promise<void>; close?(): Promise<void> };
  readonly translate?: Translator;
  readonly debounce?: { readonly quietMs: number; readonly maxMs: number };
}

export interface RunningKubernetesGateway {
  readonly admin: AdminServer;
  readonly engine: GatewayEngine;
  readonly source: KubernetesSource;
  readonly elector: LeaderElector;
  readonly writer: StatusWriter;
  readonly registry: Registry;
  /** Graceful: fail readiness, release the Lease, drain, close. */
  stop(): Promise<void>;
  /** Like a crash: stop at once, keep the Lease (it expires), no drain. For tests. */
  abort(): Promise<void>;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function defaultNamespace(): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    return readFileSync(SA_NAMESPACE_FILE, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

function selectorString(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
}

/** Start Kubernetes mode in this process; resolves once the first snapshot is served. */
export async function startKubernetesGateway(opts: KubernetesGatewayOptions): Promise<RunningKubernetesGateway> {
  const logger = opts.logger ?? createLogger({ level: opts.logLevel });
  const controllerName = opts.controllerName ?? DEFAULT_CONTROLLER_NAME;
  const namespace = opts.namespace ?? defaultNamespace();
  const identity = opts.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const serviceType: ServiceTypeOption = opts.serviceType ?? 'LoadBalancer';
  const podSelector = opts.podSelector ?? { 'app.kubernetes.io/name': 'sluice' };
  const pool = opts.gatewayAddressPool ? new GatewayAddressPool(opts.gatewayAddressPool) : undefined;
  const client = opts.kubeConfig ? new KubeClient(opts.kubeConfig) : KubeClient.load(opts.kubeconfig);

  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const leaderGauge = new Gauge({ name: 'sluice_leader', help: '1 while this process holds the leader Lease', registers: [registry] });

  let phase = 'discovering the Gateway API';
  let draining = false;
  let source: KubernetesSource | undefined;
  let engine: GatewayEngine | undefined;
  let elector: LeaderElector | undefined;

  const admin = await startAdminServer(
    opts.admin,
    {
      ready: () => {
        const reasons: string[] = [];
        if (draining) reasons.push('draining');
        if (!source?.synced || !engine?.state.table) reasons.push(phase);
        if (engine) reasons.push(...engine.unboundListeners());
        return { ready: reasons.length === 0, reasons };
      },
      configDump: () => ({ ...(engine?.state ?? {}), leader: { identity, leading: elector?.isLeader ?? false } }),
    },
    registry,
  );
  logger.info({ admin: `${admin.address}:${admin.port}`, identity }, 'admin server listening');

  const gatewayResources = await discoverWithRetry(client, logger, (msg) => (phase = msg), () => draining);
  phase = 'waiting for the Kubernetes caches to sync';

  // Sluice pods, for the Gateway Services' EndpointSlices and hostNetwork addresses.
  let pods: GatewayPod[] = [];
  const podInformer = serviceType !== 'None' || opts.hostNetwork
    ? new ResilientInformer({
      client,
      resource: CORE_RESOURCES.Pod,
      namespace: opts.podNamespace ?? namespace,
      labelSelector: selectorString(podSelector),
      logger,
      transform: shrinkObject,
      onChange: () => podChanges.trigger(),
    })
    : undefined;

  const addressesFor = (gw: { namespace: string; name: string }): GatewayAddress[] => {
    if (pool) {
      const ip = pool.addressFor(gw.namespace, gw.name);
      return ip ? [{ type: 'IPAddress', value: ip }] : [];
    }
    if (opts.hostNetwork) return hostNetworkAddresses(pods);
    if (serviceType === 'None') return [];
    return serviceAddresses(source?.get('Service', gw.namespace, gatewayServiceName(gw.name)));
  };

  const dataPlane = opts.dataPlane ?? (await createDataPlane(logger, registry, opts.accessLog ?? true, opts.ebpf, opts.tcpIdleTimeoutMs));
  const translate = opts.translate ?? (await import('../translate/index.js')).translate;

  const writer = new StatusWriter({
    client,
    logger,
    controllerName,
    // Rediscovery may add kinds (CRDs installed later) or change served versions.
    resources: () => source?.gatewayResources ?? gatewayResources,
    lookup: (kind, ns, name) => source?.get(kind, ns, name),
    list: (kind) => source?.list(kind) ?? [],
    fieldManager: opts.fieldManager,
    metrics: registry,
  });

  const reconciler = serviceType === 'None'
    ? undefined
    : new GatewayServiceReconciler({
      client,
      logger,
      fieldManager: opts.fieldManager,
      config: () => ({
        type: serviceType,
        controllerName,
        gatewayApiVersion: apiVersionOf((source?.gatewayResources ?? gatewayResources).get('Gateway') ?? gatewayResources.get('Gateway')!),
        labels: opts.serviceLabels,
        annotations: opts.serviceAnnotations,
      }),
      getService: (ns, name) => source?.get('Service', ns, name),
      listServices: () => source?.list('Service') ?? [],
      getEndpointSlice: (ns, name) => source?.get('EndpointSlice', ns, name),
    });

  let lastSnapshot: Snapshot | undefined;
  const reconcileServices = (): void => {
    if (!reconciler || !elector?.isLeader || !lastSnapshot || !engine) return;
    void reconciler.reconcile({ gateways: ourGateways(lastSnapshot, controllerName), table: engine.state.table, pods });
  };

  engine = new GatewayEngine({
    dataPlane,
    translate,
    translateOptions: {
      controllerName,
      // The data plane serves HTTP/2 (h2c and ALPN h2) on HTTP/HTTPS listeners.
      grpcRoutes: true,
      defaultAddresses: addressesFor,
      gatewayAddress: pool ? (gw) => pool.addressFor(gw.namespace, gw.name) : undefined,
    },
    logger,
    onStatus: (statuses) => writer.publish(statuses),
  });
  const eng = engine;

  const podChanges = new Debouncer(() => {
    pods = gatewayPods(podInformer?.list() ?? []);
    // Addresses may come from the pods (hostNetwork); retranslate the current snapshot.
    if (opts.hostNetwork && lastSnapshot) void eng.update(lastSnapshot).then(reconcileServices);
    else reconcileServices();
  }, { quietMs: 200, maxMs: 1000 });

  source = new KubernetesSource({
    client,
    logger,
    gatewayResources,
    debounce: opts.debounce,
    metrics: registry,
    onSnapshot: async (snapshot) => {
      lastSnapshot = snapshot;
      pool?.retain(snapshot.gateways.map((g) => ({ namespace: g.metadata?.namespace ?? 'default', name: g.metadata?.name ?? '' })));
      await eng.update(snapshot);
      reconcileServices();
    },
  });

  elector = new LeaderElector({
    client,
    namespace,
    name: opts.leaseName ?? 'sluice-leader',
    identity,
    logger,
    ...opts.leaderElection,
    onStartedLeading: () => {
      leaderGauge.set(1);
      writer.setLeader(true);
      reconcileServices();
    },
    onStoppedLeading: () => {
      leaderGauge.set(0);
      writer.setLeader(false);
    },
  });

  podInformer?.start();
  await source.start();
  if (podInformer) {
    await podInformer.whenSynced();
    pods = gatewayPods(podInformer.list());
  }
  elector.start();
  phase = 'serving';

  const shutdown = async (graceful: boolean): Promise<void> => {
    draining = true;
    podChanges.close();
    await elector!.stop(graceful);
    writer.close();
    await Promise.all([source!.stop(), podInformer?.stop()]);
    if (graceful) await dataPlane.drain?.(opts.drainMs ?? 15_000);
    await dataPlane.close?.();
    await admin.close();
    if (!opts.logger) logger.flush();
  };
  let stopping: Promise<void> | undefined;
  return {
    admin,
    engine,
    source,
    elector,
    writer,
    registry,
    stop: () => (stopping ??= shutdown(true)),
    abort: () => (stopping ??= shutdown(false)),
  };
}

/** Gateways whose GatewayClass names our controller. */
export function ourGateways(snapshot: Snapshot, controllerName: string): Gateway[] {
  const classes = new Set(snapshot.gatewayClasses.filter((c) => c.spec.controllerName === controllerName).map((c) => c.metadata?.name));
  return snapshot.gateways.filter((g) => classes.has(g.spec.gatewayClassName));
}

async function createDataPlane(
  logger: Logger,
  registry: Registry,
  accessLog: boolean | AccessLogDestination,
  ebpf: EbpfOption | undefined,
  tcpIdleTimeoutMs: number | undefined,
): Promise<DataPlaneDriver & { drain(ms: number): Promise<void>; close(): Promise<void> }> {
  const { DataPlane } = await import('../dataplane/index.js');
  type Options = ConstructorParameters<typeof DataPlane>[0];
  // `ebpf` rides along as an extra field until DataPlaneOptions declares it (L4 splicing is wired there).
  const options: Options & { ebpf?: EbpfOption } = {
    logger,
    metrics: registry,
    ...(accessLog === false || accessLog === 'off' ? { accessLog: false as const } : {}),
    ...(typeof accessLog === 'object' ? { accessLogDestination: accessLog } : {}),
    ...(ebpf ? { ebpf } : {}),
    ...(tcpIdleTimeoutMs !== undefined ? { l4: { tcpIdleTimeoutMs } } : {}),
  };
  return new DataPlane(options);
}

/** Discovery, retried with backoff: the CRDs may be installed after Sluice (the chart's NOTES say to do it first). */
async function discoverWithRetry(
  client: KubeClient,
  logger: Logger,
  setPhase: (msg: string) => void,
  cancelled: () => boolean,
): Promise<Map<string, ResourceSpec>> {
  let delay = 1_000;
  for (;;) {
    try {
      const found = await discoverGatewayResources(client);
      logger.info({ kinds: Object.fromEntries([...found].map(([k, r]) => [k, apiVersionOf(r)])) }, 'Gateway API discovered');
      return found;
    } catch (err) {
      if (cancelled()) throw err;
      const message = errorMessage(err);
      setPhase(`discovering the Gateway API: ${message}`);
      logger.error({ err: message, retryInMs: delay }, 'Gateway API discovery failed; retrying');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }
}
