import type { Condition, ObjectStatus } from '../translate/status.js';

export interface ListenerBindState {
  readonly programmed: boolean;
  readonly reason?: string;
  readonly message?: string;
  readonly addressNotUsable?: boolean;
}

type MutableCondition = Condition & { lastTransitionTime?: string };

/**
 * Fold what the data plane reported (ports it could not bind) into the
 * statuses translate() computed, which assume every listener binds.
 * Pure: returns new status objects.
 */
export function mergeBindFailures(
  statuses: readonly ObjectStatus[],
  listeners: Readonly<Record<string, ListenerBindState>>,
): ObjectStatus[] {
  return statuses.map((s) => {
    if (s.kind !== 'Gateway' && s.kind !== 'ListenerSet') return s;
    // Listener ids as translate() makes them (src/translate/listeners.ts listenerId).
    const idPrefix = s.kind === 'Gateway' ? `${s.namespace}/${s.name}/` : `ListenerSet/${s.namespace}/${s.name}/`;
    const listenerStatuses = (s.status.listeners as Array<Record<string, unknown>> | undefined) ?? [];
    let anyFailed = false;
    let anyProgrammed = false;
    let addressNotUsable = false;
    const newListeners = listenerStatuses.map((ls) => {
      const id = `${idPrefix}${String(ls.name)}`;
      const state = listeners[id];
      const conds = (ls.conditions as Condition[] | undefined) ?? [];
      const wasProgrammed = conds.some((c) => c.type === 'Programmed' && c.status === 'True');
      if (!state || state.programmed) {
        if (wasProgrammed) anyProgrammed = true;
        return ls;
      }
      anyFailed = true;
      if (state.addressNotUsable === true) addressNotUsable = true;
      return {
        ...ls,
        conditions: conds.map((c) =>
          c.type === 'Programmed'
            ? { ...c, status: 'False', reason: state.reason ?? 'Invalid', message: state.message ?? 'listener could not be bound' }
            : c,
        ),
      };
    });
    if (!anyFailed) return s;
    const gwConds = (s.status.conditions as Condition[] | undefined) ?? [];
    const newGwConds = anyProgrammed
      ? gwConds
      : gwConds.map((c) =>
        c.type === 'Programmed'
          ? addressNotUsable && s.kind === 'Gateway'
            ? { ...c, status: 'False' as const, reason: 'AddressNotUsable', message: 'the Gateway address is not available on this host; see listener conditions' }
            : { ...c, status: 'False' as const, reason: 'Invalid', message: 'no listener could be bound; see listener conditions' }
          : c,
      );
    return { ...s, status: { ...s.status, listeners: newListeners, conditions: newGwConds } };
  });
}

/**
 * Give every condition a lastTransitionTime: keep the previous one when type,
 * status and reason did not change, else `now`. Walks conditions at any depth
 * (Gateway listeners, route parents).
 */
export function stampTransitions(next: readonly ObjectStatus[], prev: readonly ObjectStatus[], now: string): ObjectStatus[] {
  const prevByKey = new Map<string, ObjectStatus>();
  for (const p of prev) prevByKey.set(`${p.kind}/${p.namespace}/${p.name}`, p);
  return next.map((s) => {
    const old = prevByKey.get(`${s.kind}/${s.namespace}/${s.name}`);
    return { ...s, status: stampValue(s.status, old?.status, now) as Record<string, unknown> };
  });
}

function stampValue(value: unknown, old: unknown, now: string): unknown {
  if (Array.isArray(value)) {
    const oldArr = Array.isArray(old) ? old : [];
    return value.map((v, i) => stampValue(v, matchOld(v, oldArr, i), now));
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const o = old && typeof old === 'object' ? (old as Record<string, unknown>)[k] : undefined;
      out[k] = k === 'conditions' ? stampConditions(v as MutableCondition[], o as MutableCondition[] | undefined, now) : stampValue(v, o, now);
    }
    return out;
  }
  return value;
}

/** Pair array elements by name, parentRef or ancestorRef when they have one, else by index. */
function matchOld(v: unknown, oldArr: readonly unknown[], i: number): unknown {
  if (v && typeof v === 'object') {
    const rec = v as Record<string, unknown>;
    if (typeof rec.name === 'string') return oldArr.find((o) => (o as Record<string, unknown> | undefined)?.name === rec.name);
    for (const refField of ['parentRef', 'ancestorRef'] as const) {
      if (!rec[refField]) continue;
      const key = JSON.stringify(rec[refField]);
      return oldArr.find((o) => JSON.stringify((o as Record<string, unknown> | undefined)?.[refField]) === key);
    }
  }
  return oldArr[i];
}

function stampConditions(conds: readonly MutableCondition[] | undefined, old: readonly MutableCondition[] | undefined, now: string): MutableCondition[] {
  return (conds ?? []).map((c) => {
    const o = old?.find((x) => x.type === c.type);
    const keep = o && o.status === c.status && o.reason === c.reason && o.lastTransitionTime;
    return { ...c, lastTransitionTime: keep ? o.lastTransitionTime : now };
  });
}
