import type { Gateway } from '../model/objects.js';
import type { RouteTable } from '../translate/ir.js';
import type { Logger } from '../util/log.js';
import type { KubeClient, KubeObject } from './client.js';
import { errorMessage } from './client.js';
import { KubeApiError } from './errors.js';
import {
  controlledBy, desiredEndpointSlice, desiredService, endpointSliceEqual, GATEWAY_NAME_LABEL, gatewayServiceName,
  listenerPorts, MANAGED_BY_LABEL, MANAGED_BY_VALUE, servicePatch, type GatewayPod, type GatewayServiceConfig,
} from './gateway-service.js';
import { CORE_RESOURCES, collectionPath, objectPath } from './resources.js';

export interface ServiceReconcilerOptions {
  readonly client: KubeClient;
  readonly logger: Logger;
  readonly config: () => GatewayServiceConfig;
  /** Cached Services and EndpointSlices (cluster-wide informers). */
  readonly getService: (namespace: string, name: string) => KubeObject | undefined;
  readonly listServices: () => readonly KubeObject[];
  readonly getEndpointSlice: (namespace: string, name: string) => KubeObject | undefined;
  readonly fieldManager?: string;
  /** Record a Kubernetes Event on the Gateway when its Service is created. */
  readonly events?: boolean;
}

export interface ReconcileInput {
  /** Gateways of our GatewayClass(es). */
  readonly gateways: readonly Gateway[];
  readonly table: RouteTable | undefined;
  readonly pods: readonly GatewayPod[];
}

/**
 * Leader-only: keeps one Service (plus its EndpointSlice listing the Sluice
 * pods) per Gateway of ours, in the Gateway's namespace, owned by the Gateway
 * so the garbage collector removes it with the Gateway. Services we created
 * for Gateways that are no longer ours (class changed) are deleted here.
 * Calls are serialised and coalesced: only the newest input is reconciled.
 */
export class GatewayServiceReconciler {
  readonly #opts: ServiceReconcilerOptions;
  #pending: ReconcileInput | undefined;
  #running: Promise<void> | undefined;
  readonly #warned = new Set<string>();

  constructor(opts: ServiceReconcilerOptions) {
    this.#opts = opts;
  }

  reconcile(input: ReconcileInput): Promise<void> {
    this.#pending = input;
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #drain(): Promise<void> {
    while (this.#pending) {
      const input = this.#pending;
      this.#pending = undefined;
      await this.#reconcileOnce(input);
    }
  }

  async #reconcileOnce(input: ReconcileInput): Promise<void> {
    const config = this.#opts.config();
    const wantedUids = new Set<string>();
    for (const gw of input.gateways) {
      const ns = gw.metadata?.namespace ?? 'default';
      const name = gw.metadata?.name ?? '';
      if (gw.metadata?.uid) wantedUids.add(gw.metadata.uid);
      const ports = listenerPorts(input.table, { namespace: ns, name });
      // A Service needs at least one port; a Gateway with no usable listener gets none (yet).
      if (ports.length === 0) continue;
      try {
        await this.#ensure(gw, ports, input.pods, config);
      } catch (err) {
        this.#opts.logger.warn({ gateway: `${ns}/${name}`, err: errorMessage(err) }, 'could not reconcile the Gateway Service');
      }
    }
    for (const svc of this.#opts.listServices()) {
      if (svc.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE || !svc.metadata.labels[GATEWAY_NAME_LABEL]) continue;
      const owner = (svc.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === 'Gateway');
      if (!owner || wantedUids.has(owner.uid)) continue;
      const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
      try {
        await this.#opts.client.delete(objectPath(CORE_RESOURCES.Service, svc.metadata.namespace, svc.metadata.name ?? ''));
        this.#opts.logger.info({ service: key }, 'deleted the Service of a Gateway that is no longer ours');
      } catch (err) {
        if (!(err instanceof KubeApiError && err.isNotFound)) this.#opts.logger.warn({ service: key, err: errorMessage(err) }, 'could not delete a stale Gateway Service');
      }
    }
  }

  async #ensure(gw: Gateway, ports: ReturnType<typeof listenerPorts>, pods: readonly GatewayPod[], config: GatewayServiceConfig): Promise<void> {
    const { client } = this.#opts;
    const ns = gw.metadata?.namespace ?? 'default';
    const desired = desiredService(gw, ports, config);
    const name = desired.metadata!.name!;
    const query = { fieldManager: this.#opts.fieldManager ?? 'sluice' };
    let live = this.#opts.getService(ns, name);
    if (!live) {
      try {
        live = await client.create(collectionPath(CORE_RESOURCES.Service, ns), desired, query);
        this.#opts.logger.info({ service: `${ns}/${name}`, type: config.type }, 'created the Gateway Service');
        if (this.#opts.events !== false) await this.#event(gw, 'ServiceCreated', `Created Service ${name} (${config.type}) for this Gateway`);
      } catch (err) {
        // The cache was behind: it exists; pick it up on the next round.
        if (err instanceof KubeApiError && err.status === 409) return;
        throw err;
      }
    } else if (!controlledBy(live, gw)) {
      const key = `${ns}/${name}`;
      if (!this.#warned.has(key)) {
        this.#warned.add(key);
        this.#opts.logger.warn({ service: key, gateway: `${ns}/${gw.metadata?.name}` }, 'a Service with the Gateway Service name exists and is not controlled by this Gateway; leaving it alone');
      }
      return;
    } else {
      const patch = servicePatch(live, desired);
      if (patch) {
        live = await client.mergePatch(objectPath(CORE_RESOURCES.Service, ns, name), patch, query);
        this.#opts.logger.info({ service: `${ns}/${name}` }, 'updated the Gateway Service');
      }
    }
    await this.#ensureSlice(live, gw, pods, ports, config, query);
  }

  async #ensureSlice(service: KubeObject, gw: Gateway, pods: readonly GatewayPod[], ports: ReturnType<typeof listenerPorts>, config: GatewayServiceConfig, query: Record<string, string>): Promise<void> {
    const { client } = this.#opts;
    const ns = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    const desired = desiredEndpointSlice(service, gw, pods, ports, config.controllerName);
    const live = this.#opts.getEndpointSlice(ns, name);
    if (!live) {
      try {
        await client.create(collectionPath(CORE_RESOURCES.EndpointSlice, ns), desired, query);
      } catch (err) {
        if (!(err instanceof KubeApiError && err.status === 409)) throw err;
      }
      return;
    }
    if (endpointSliceEqual(live, desired)) return;
    await client.replace(objectPath(CORE_RESOURCES.EndpointSlice, ns, name), {
      ...desired,
      metadata: { ...desired.metadata, resourceVersion: live.metadata?.resourceVersion, labels: { ...(live.metadata?.labels ?? {}), ...desired.metadata?.labels } },
    }, query);
  }

  async #event(gw: Gateway, reason: string, message: string): Promise<void> {
    const ns = gw.metadata?.namespace ?? 'default';
    const now = new Date().toISOString();
    try {
      await this.#opts.client.create(collectionPath(CORE_RESOURCES.Event, ns), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${gw.metadata?.name ?? 'gateway'}.`, namespace: ns },
        involvedObject: { apiVersion: this.#opts.config().gatewayApiVersion, kind: 'Gateway', name: gw.metadata?.name, namespace: ns, uid: gw.metadata?.uid },
        reason,
        message,
        type: 'Normal',
        source: { component: 'sluice' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      this.#opts.logger.debug({ err: errorMessage(err) }, 'could not record an event');
    }
  }
}

export { gatewayServiceName };
