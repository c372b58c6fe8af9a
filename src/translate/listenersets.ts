import { GATEWAY_GROUP } from '../model/objects.js';
import type { ListenerSet } from '../model/objects.js';
import { Reason } from './conditions.js';
import type { TranslateContext } from './context.js';
import { metaOf } from './context.js';
import { buildListener, listenerAcceptProblem } from './listeners.js';
import { byName } from './order.js';
import { sharingKey } from './protocols/index.js';
import { selectorMatches, type LabelSelector } from './selectors.js';
import type { GatewayState, ListenerSetState, ListenerState, Problem } from './types.js';

/**
 * Attach every ListenerSet whose parentRef names one of our Gateways to it
 * (GEP-1713): the Gateway's spec.allowedListeners decides whether it is taken
 * (default None), its listeners are built relative to the ListenerSet, and
 * listener conflicts are settled by precedence: the Gateway's own listeners
 * first, then ListenerSets oldest first, then by "namespace/name"; the first
 * listener wins and later ones are Conflicted. ListenerSets whose parent is
 * not ours are left alone (another controller owns them).
 */
export function attachListenerSets(gateways: readonly GatewayState[], ctx: TranslateContext): void {
  const byKey = new Map(gateways.map((g) => [`${g.namespace}/${g.name}`, g]));
  for (const obj of byName(ctx.snapshot.listenerSets)) {
    const m = metaOf(obj);
    const ref = obj.spec?.parentRef;
    if (ref === undefined || (ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') continue;
    const gwNamespace = ref.namespace ?? m.namespace;
    const gateway = byKey.get(`${gwNamespace}/${ref.name}`);
    if (gateway === undefined) {
      const exists = ctx.snapshot.gateways.some((g) => g.metadata?.namespace === gwNamespace && g.metadata?.name === ref.name);
      if (!exists) {
        ctx.warn({
          object: { kind: 'ListenerSet', namespace: m.namespace, name: m.name },
          field: 'spec.parentRef',
          code: 'ParentNotFound',
          message: `Gateway ${gwNamespace}/${ref.name} does not exist; the ListenerSet is not attached`,
        });
      }
      continue;
    }
    gateway.listenerSets.push(buildListenerSet(obj, gateway, ctx));
  }
  for (const g of gateways) {
    g.listenerSets.sort(compareListenerSetAge);
    resolveListenerSetConflicts(g);
  }
}

function buildListenerSet(obj: ListenerSet, gateway: GatewayState, ctx: TranslateContext): ListenerSetState {
  const m = metaOf(obj);
  const refused = refusal(gateway, m.namespace, ctx);
  const state: ListenerSetState = {
    obj,
    namespace: m.namespace,
    name: m.name,
    generation: m.generation,
    created: m.created,
    gateway,
    ...(refused ? { refused } : {}),
    listeners: [],
  };
  if (refused === undefined) {
    for (const spec of obj.spec?.listeners ?? []) state.listeners.push(buildListener(spec, gateway, ctx, state));
  }
  return state;
}

/** Why the parent Gateway does not take a ListenerSet from `namespace`, if it does not. */
function refusal(gateway: GatewayState, namespace: string, ctx: TranslateContext): Problem | undefined {
  const allowed = gateway.obj.spec?.allowedListeners?.namespaces;
  const from = allowed?.from ?? 'None';
  const gw = `Gateway ${gateway.namespace}/${gateway.name}`;
  let ok: boolean;
  switch (from) {
    case 'All':
      ok = true;
      break;
    case 'Same':
      ok = namespace === gateway.namespace;
      break;
    case 'Selector': {
      const selector = allowed?.selector as LabelSelector | undefined;
      ok = selector !== undefined && selectorMatches(selector, ctx.namespaceLabels(namespace));
      break;
    }
    default:
      ok = false;
  }
  if (!ok) {
    const why = from === 'None' ? `${gw} allows no ListenerSets (spec.allowedListeners.namespaces.from: None)` : `${gw} does not allow ListenerSets from namespace ${namespace} (spec.allowedListeners.namespaces.from: ${from})`;
    return { reason: Reason.NotAllowed, message: why };
  }
  if (gateway.rejected) return { reason: Reason.ParentNotAccepted, message: `${gw} is not accepted: ${gateway.rejected.message}` };
  return undefined;
}

/**
 * Each ListenerSet listener, in precedence order, against every listener
 * before it on the same port (the Gateway's own, then earlier ListenerSets'):
 * it is Conflicted when it cannot be told apart from one of them, and
 * otherwise claims its port and hostname.
 */
function resolveListenerSetConflicts(g: GatewayState): void {
  const claimed: ListenerState[] = g.listeners.filter((l) => l.module !== undefined);
  for (const ls of g.listenerSets) {
    for (const l of ls.listeners) {
      if (l.module === undefined || listenerAcceptProblem(l) !== undefined) continue;
      const clash = conflictWith(l, claimed);
      if (clash) l.conflict = clash;
      else claimed.push(l);
    }
  }
}

function conflictWith(l: ListenerState, claimed: readonly ListenerState[]): Problem | undefined {
  let hostnameClash: ListenerState | undefined;
  for (const o of claimed) {
    if (o.port !== l.port) continue;
    const share = sharingKey(o.module!, l.module!);
    if (share === 'separate') continue;
    if (share === undefined) {
      return { reason: Reason.ProtocolConflict, message: `port ${l.port} is already used by ${describe(o)} with protocol ${o.protocol}, incompatible with ${l.protocol}` };
    }
    if (o.hostname === l.hostname) hostnameClash ??= o;
  }
  if (hostnameClash) {
    return { reason: Reason.HostnameConflict, message: `${describe(hostnameClash)} already uses port ${l.port} with ${l.hostname === undefined ? 'no hostname' : `hostname ${l.hostname}`}` };
  }
  return undefined;
}

/** Names the other listener without revealing more than its owner and name. */
function describe(l: ListenerState): string {
  return l.listenerSet
    ? `listener ${l.name} of ListenerSet ${l.listenerSet.namespace}/${l.listenerSet.name}`
    : `listener ${l.name} of Gateway ${l.gateway.namespace}/${l.gateway.name}`;
}

function compareListenerSetAge(a: ListenerSetState, b: ListenerSetState): number {
  const ca = a.created ?? Number.POSITIVE_INFINITY;
  const cb = b.created ?? Number.POSITIVE_INFINITY;
  if (ca !== cb) return ca < cb ? -1 : 1;
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
