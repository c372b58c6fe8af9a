import { isIP } from 'node:net';
import type { Gateway, GatewayClass } from '../model/objects.js';
import type { TranslateContext } from './context.js';
import { metaOf } from './context.js';
import { byName } from './order.js';
import { resolveBackendClientCertificate } from './backend-client-cert.js';
import { Reason } from './conditions.js';
import { buildListener, listenerServes, mergedListeners } from './listeners.js';
import { attachListenerSets } from './listenersets.js';
import { sharingKey } from './protocols/index.js';
import type { GatewayState, ListenerState, Problem } from './types.js';

export { listenerAcceptProblem, listenerServes } from './listeners.js';

/**
 * Build the state of every Gateway whose class is ours: bind addresses,
 * listeners with their protocol module, route kinds, namespace policy,
 * TLS, the ListenerSets they take, and conflicts (within a Gateway as the
 * spec says, with its ListenerSets by listener precedence, and across
 * Gateways that end up on the same address and port).
 */
export function buildGateways(ctx: TranslateContext, ourClasses: ReadonlyMap<string, GatewayClass>): GatewayState[] {
  const gateways: GatewayState[] = [];
  const allClasses = new Set(ctx.snapshot.gatewayClasses.map((c) => c.metadata?.name));
  for (const gw of byName(ctx.snapshot.gateways)) {
    if (!ourClasses.has(gw.spec?.gatewayClassName)) {
      if (!allClasses.has(gw.spec?.gatewayClassName)) {
        const m = metaOf(gw);
        ctx.warn({
          object: { kind: 'Gateway', namespace: m.namespace, name: m.name },
          field: 'spec.gatewayClassName',
          code: 'GatewayClassNotFound',
          message: `GatewayClass ${gw.spec?.gatewayClassName} does not exist; the Gateway is ignored`,
        });
      }
      continue;
    }
    gateways.push(buildGateway(gw, ctx));
  }
  for (const g of gateways) detectConflicts(g.listeners.filter((l) => l.module !== undefined));
  attachListenerSets(gateways, ctx);
  detectCrossGatewayConflicts(gateways);
  return gateways;
}

function buildGateway(gw: Gateway, ctx: TranslateContext): GatewayState {
  const m = metaOf(gw);
  const ref = { namespace: m.namespace, name: m.name };
  const addr = resolveAddresses(gw, ctx);
  const params = checkInfrastructureParameters(gw, m.namespace, ctx);
  const rejected = addr.rejected ?? params;
  const clientCert = resolveBackendClientCertificate(gw, m.namespace, ctx);
  const state: GatewayState = {
    obj: gw,
    namespace: m.namespace,
    name: m.name,
    generation: m.generation,
    created: m.created,
    listeners: [],
    bindAddresses: addr.bind,
    statusAddresses: rejected || addr.unprogrammed
      ? []
      : addr.status.length > 0 ? addr.status : (ctx.options.defaultAddresses?.(ref) ?? []).map((a) => ({ type: a.type, value: a.value })),
    ...(rejected ? { rejected } : {}),
    ...(addr.unprogrammed ? { unprogrammed: addr.unprogrammed } : {}),
    listenerSets: [],
    ...(clientCert.certificate ? { backendClientCertificate: clientCert.certificate } : {}),
    ...(clientCert.problem ? { backendTLSProblem: clientCert.problem } : {}),
  };
  for (const spec of gw.spec?.listeners ?? []) state.listeners.push(buildListener(spec, state, ctx));
  return state;
}

interface AddressResolution {
  bind: string[];
  status: { type: string; value: string }[];
  rejected?: Problem;
  unprogrammed?: Problem;
}

/**
 * spec.addresses of type IPAddress are the addresses listeners bind. Other
 * address types are not supported (the Gateway is not Accepted). Without
 * spec.addresses, the environment may pick one (options.gatewayAddress);
 * otherwise listeners bind all addresses.
 */
function resolveAddresses(gw: Gateway, ctx: TranslateContext): AddressResolution {
  const m = metaOf(gw);
  const assigned = ctx.options.gatewayAddress?.({ namespace: m.namespace, name: m.name });
  const spec = gw.spec?.addresses ?? [];
  if (spec.length === 0) {
    return assigned
      ? { bind: [assigned], status: [{ type: 'IPAddress', value: assigned }] }
      : { bind: [''], status: [] };
  }
  const bind: string[] = [];
  for (const [i, a] of spec.entries()) {
    const type = a.type ?? 'IPAddress';
    if (type !== 'IPAddress') {
      return { bind: [], status: [], rejected: { reason: Reason.UnsupportedAddress, message: `spec.addresses[${i}]: address type ${type} is not supported; use IPAddress` } };
    }
    if (a.value === undefined || a.value === '') {
      if (assigned) bind.push(assigned);
      else return { bind: [], status: [], unprogrammed: { reason: Reason.AddressNotAssigned, message: `spec.addresses[${i}]: no IP address is available to assign` } };
      continue;
    }
    if (isIP(a.value) === 0) {
      return { bind: [], status: [], rejected: { reason: Reason.UnsupportedAddress, message: `spec.addresses[${i}]: ${a.value} is not an IP address` } };
    }
    if (!bind.includes(a.value)) bind.push(a.value);
  }
  return { bind, status: bind.map((value) => ({ type: 'IPAddress', value })) };
}

/** Sluice takes no infrastructure parameters; a reference to anything but an existing ConfigMap is invalid. */
function checkInfrastructureParameters(gw: Gateway, namespace: string, ctx: TranslateContext): Problem | undefined {
  const ref = gw.spec?.infrastructure?.parametersRef;
  if (ref === undefined) return undefined;
  if ((ref.group ?? '') !== '' || ref.kind !== 'ConfigMap') {
    return { reason: Reason.InvalidParameters, message: `infrastructure.parametersRef: kind ${ref.group ? `${ref.group}/` : ''}${ref.kind} is not supported` };
  }
  const found = ctx.snapshot.configMaps.some((c) => c.metadata?.namespace === namespace && c.metadata?.name === ref.name);
  return found ? undefined : { reason: Reason.InvalidParameters, message: `infrastructure.parametersRef: ConfigMap ${namespace}/${ref.name} not found` };
}

/**
 * Listeners of one Gateway that cannot be told apart are all Conflicted
 * (none wins): different protocols on one port (ProtocolConflict), or the
 * same port and hostname (HostnameConflict).
 */
function detectConflicts(listeners: readonly ListenerState[]): void {
  const byPort = new Map<number, ListenerState[]>();
  for (const l of listeners) {
    const list = byPort.get(l.port);
    if (list) list.push(l);
    else byPort.set(l.port, [l]);
  }
  for (const [port, list] of byPort) {
    for (const a of list) {
      for (const b of list) {
        if (a === b) continue;
        const share = sharingKey(a.module!, b.module!);
        if (share === 'separate') continue;
        if (share === undefined) {
          a.conflict ??= { reason: Reason.ProtocolConflict, message: `port ${port} is used by listeners with incompatible protocols (${a.protocol} and ${b.protocol})` };
        } else if (a.hostname === b.hostname) {
          a.conflict ??= { reason: Reason.HostnameConflict, message: `listener ${b.name} uses the same port ${port} and ${a.hostname === undefined ? 'no hostname' : `hostname ${a.hostname}`}` };
        }
      }
    }
  }
  // A protocol conflict outranks a hostname conflict found first.
  for (const list of byPort.values()) {
    for (const a of list) {
      if (a.conflict?.reason !== Reason.HostnameConflict) continue;
      const p = list.find((b) => b !== a && sharingKey(a.module!, b.module!) === undefined);
      if (p) a.conflict = { reason: Reason.ProtocolConflict, message: `port ${a.port} is used by listeners with incompatible protocols (${a.protocol} and ${p.protocol})` };
    }
  }
}

/**
 * Gateways bound to the same address share its sockets. When their listeners
 * collide, the older Gateway keeps the port (creation time, then
 * namespace/name) and the newer Gateway's listener is Conflicted.
 */
function detectCrossGatewayConflicts(gateways: readonly GatewayState[]): void {
  const order = [...gateways].sort(compareGatewayAge);
  const claimed = new Map<string, ListenerState[]>();
  for (const g of order) {
    if (g.rejected || g.unprogrammed) continue;
    for (const l of mergedListeners(g)) {
      if (!listenerServes(l)) continue;
      for (const address of g.bindAddresses) {
        const key = `${address}|${l.port}`;
        const owners = claimed.get(key) ?? [];
        const clash = owners.find((o) => o.gateway !== g && (sharingKey(o.module!, l.module!) === undefined || (sharingKey(o.module!, l.module!) !== 'separate' && o.hostname === l.hostname)));
        if (clash) {
          const protocol = sharingKey(clash.module!, l.module!) === undefined;
          l.conflict = {
            reason: protocol ? Reason.ProtocolConflict : Reason.HostnameConflict,
            message: `Gateway ${clash.gateway.namespace}/${clash.gateway.name} listener ${clash.name} already serves ${address || '*'}:${l.port}${protocol ? ` with protocol ${clash.protocol}` : ` for ${l.hostname ?? 'any hostname'}`}`,
          };
          break;
        }
        owners.push(l);
        claimed.set(key, owners);
      }
    }
  }
}

export function compareGatewayAge(a: GatewayState, b: GatewayState): number {
  const ca = a.created ?? Number.POSITIVE_INFINITY;
  const cb = b.created ?? Number.POSITIVE_INFINITY;
  if (ca !== cb) return ca < cb ? -1 : 1;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
