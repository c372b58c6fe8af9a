/**
 * Pure helpers for writing status to shared objects: merge our part into
 * what is live, keep other controllers' entries, keep lastTransitionTime when
 * a condition's status did not change, and compare canonically.
 */

type Json = Record<string, unknown>;

/** Status lists shared between controllers: the list field and the key that identifies an entry. */
export const SHARED_STATUS_LISTS: Readonly<Record<string, { list: string; ref: string }>> = {
  HTTPRoute: { list: 'parents', ref: 'parentRef' },
  GRPCRoute: { list: 'parents', ref: 'parentRef' },
  TLSRoute: { list: 'parents', ref: 'parentRef' },
  TCPRoute: { list: 'parents', ref: 'parentRef' },
  UDPRoute: { list: 'parents', ref: 'parentRef' },
  BackendTLSPolicy: { list: 'ancestors', ref: 'ancestorRef' },
};

/**
 * The status to write: for shared kinds, the live list with our entries
 * replaced by the desired ones (same position when the ref is unchanged, new
 * ones appended, ours that are no longer desired removed) and every other
 * controller's entries untouched; for kinds we own outright, the desired
 * status. Condition times are then carried over from live where the condition
 * did not flip.
 */
export function mergeStatus(kind: string, live: Json | undefined, desired: Json, controllerName: string): Json {
  const shared = SHARED_STATUS_LISTS[kind];
  let merged: Json;
  if (!shared) {
    merged = desired;
  } else {
    const liveList = asArray(live?.[shared.list]);
    const ours = asArray(desired[shared.list]).filter((e) => e.controllerName === undefined || e.controllerName === controllerName);
    const byRef = new Map(ours.map((e) => [canonical(e[shared.ref]), e]));
    const used = new Set<string>();
    const list: Json[] = [];
    for (const e of liveList) {
      if (e.controllerName !== controllerName) {
        list.push(e);
        continue;
      }
      const k = canonicalRef(e[shared.ref], byRef);
      if (k !== undefined && !used.has(k)) {
        used.add(k);
        list.push(byRef.get(k)!);
      }
    }
    for (const [k, e] of byRef) if (!used.has(k)) list.push(e);
    merged = { ...(live ?? {}), ...desired, [shared.list]: list };
  }
  return adoptTransitionTimes(merged, live) as Json;
}

/** Find the desired entry for a live ref; the API server may have filled in defaults (group, kind) the translator left out. */
function canonicalRef(liveRef: unknown, desired: ReadonlyMap<string, Json>): string | undefined {
  const exact = canonical(liveRef);
  if (desired.has(exact)) return exact;
  for (const k of desired.keys()) {
    if (refsEqual(JSON.parse(k) as unknown, liveRef)) return k;
  }
  return undefined;
}

const REF_DEFAULTS: Readonly<Record<string, unknown>> = { group: 'gateway.networking.k8s.io', kind: 'Gateway' };

/** Two parentRefs/ancestorRefs are the same when equal after filling in the CRD defaults. */
export function refsEqual(a: unknown, b: unknown): boolean {
  const fill = (r: unknown): Json => ({ ...REF_DEFAULTS, ...((r as Json | undefined) ?? {}) });
  return canonical(fill(a)) === canonical(fill(b));
}

/** Keep the live lastTransitionTime of every condition whose type and status did not change. */
export function adoptTransitionTimes(next: unknown, live: unknown): unknown {
  if (Array.isArray(next)) {
    const liveArr = Array.isArray(live) ? live : [];
    return next.map((v, i) => adoptTransitionTimes(v, pairInLive(v, liveArr, i)));
  }
  if (!next || typeof next !== 'object') return next;
  const out: Json = {};
  for (const [k, v] of Object.entries(next as Json)) {
    const lv = live && typeof live === 'object' && !Array.isArray(live) ? (live as Json)[k] : undefined;
    out[k] = k === 'conditions' && Array.isArray(v) ? adoptConditionTimes(v as Json[], asArray(lv)) : adoptTransitionTimes(v, lv);
  }
  return out;
}

function adoptConditionTimes(next: readonly Json[], live: readonly Json[]): Json[] {
  return next.map((c) => {
    const l = live.find((x) => x.type === c.type);
    if (l && l.status === c.status && typeof l.lastTransitionTime === 'string') return { ...c, lastTransitionTime: l.lastTransitionTime };
    return c;
  });
}

function pairInLive(v: unknown, liveArr: readonly unknown[], i: number): unknown {
  if (v && typeof v === 'object') {
    const rec = v as Json;
    if (typeof rec.name === 'string') return liveArr.find((o) => (o as Json | undefined)?.name === rec.name);
    for (const refKey of ['parentRef', 'ancestorRef']) {
      if (rec[refKey] !== undefined) {
        return liveArr.find((o) => {
          const lo = o as Json | undefined;
          return lo?.controllerName === rec.controllerName && refsEqual(lo?.[refKey], rec[refKey]);
        });
      }
    }
  }
  return liveArr[i];
}

function asArray(v: unknown): Json[] {
  return Array.isArray(v) ? (v.filter((x) => x && typeof x === 'object') as Json[]) : [];
}

/** JSON with object keys sorted, for equality checks. */
export function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Json = {};
    for (const k of Object.keys(value as Json).sort()) {
      const v = (value as Json)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The status with every entry of ours removed (for objects we no longer have anything to say about). */
export function withoutOurEntries(kind: string, live: Json | undefined, controllerName: string): Json | undefined {
  const shared = SHARED_STATUS_LISTS[kind];
  if (!shared || !live) return undefined;
  const list = asArray(live[shared.list]);
  if (!list.some((e) => e.controllerName === controllerName)) return undefined;
  return { ...live, [shared.list]: list.filter((e) => e.controllerName !== controllerName) };
}
