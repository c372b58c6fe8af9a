import type { ParentAttachment } from './attachment.js';
import { effectiveHostnames } from './attachment.js';
import { Reason } from './conditions.js';
import { intersectHostnames } from './hostnames.js';
import type { PlacedRoute } from './index.js';
import type { ListenerState } from './types.js';

/**
 * An HTTPRoute and a GRPCRoute on one listener with intersecting hostnames:
 * the spec says exactly one is accepted there, the oldest (then
 * "{namespace}/{name}" first). The other loses that listener; a parentRef
 * left with no listener is Accepted=False. Mutates the attachments.
 */
export function resolveKindConflicts(placed: PlacedRoute[]): void {
  const byListener = new Map<ListenerState, { route: PlacedRoute; parent: number }[]>();
  placed.forEach((route) => {
    if (route.t.allRulesInvalid) return;
    route.parents.forEach((p, parent) => {
      if (p.problem) return;
      for (const l of p.listeners) {
        const list = byListener.get(l) ?? [];
        list.push({ route, parent });
        byListener.set(l, list);
      }
    });
  });
  const losers = new Map<PlacedRoute, Map<number, { listeners: Set<ListenerState>; winner: PlacedRoute }>>();
  for (const [listener, list] of byListener) {
    const kinds = new Set(list.map((x) => x.route.kind));
    if (kinds.size < 2) continue;
    const ordered = [...new Set(list.map((x) => x.route))].sort(compareAge);
    const winners: PlacedRoute[] = [];
    for (const r of ordered) {
      const hosts = effectiveHostnames(listener.hostname, r.t.hostnames);
      const winner = winners.find((w) => w.kind !== r.kind && intersects(hosts, effectiveHostnames(listener.hostname, w.t.hostnames)));
      if (winner === undefined) {
        winners.push(r);
        continue;
      }
      for (const { route, parent } of list) {
        if (route !== r) continue;
        const perParent = losers.get(r) ?? new Map();
        const entry = perParent.get(parent) ?? { listeners: new Set<ListenerState>(), winner };
        entry.listeners.add(listener);
        perParent.set(parent, entry);
        losers.set(r, perParent);
      }
    }
  }
  for (const [route, perParent] of losers) {
    for (const [index, { listeners, winner }] of perParent) {
      const p = route.parents[index];
      const kept = p.listeners.filter((l) => !listeners.has(l));
      const replaced: ParentAttachment = kept.length > 0
        ? { ...p, listeners: kept }
        : {
          ...p,
          listeners: [],
          problem: {
            reason: Reason.NotAllowedByListeners,
            message: `${winner.kind} ${winner.t.namespace}/${winner.t.name} already serves these hostnames on listener(s) ${[...listeners].map((l) => l.name).join(', ')}; HTTPRoutes and GRPCRoutes cannot share a hostname (the older route wins)`,
          },
        };
      route.parents[index] = replaced;
    }
  }
}

function intersects(a: readonly string[], b: readonly string[]): boolean {
  const any = (h: string): string | undefined => (h === '*' ? undefined : h);
  return a.some((x) => b.some((y) => intersectHostnames(any(x), any(y)) !== undefined));
}

function compareAge(a: PlacedRoute, b: PlacedRoute): number {
  const ca = a.t.created ?? Number.POSITIVE_INFINITY;
  const cb = b.t.created ?? Number.POSITIVE_INFINITY;
  if (ca !== cb) return ca < cb ? -1 : 1;
  const ka = `${a.t.namespace}/${a.t.name}`;
  const kb = `${b.t.namespace}/${b.t.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0;
}
