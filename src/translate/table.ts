import { deepFreeze } from '../store/build.js';
import { builtContentHash } from './canonical.js';
import type { TranslateContext } from './context.js';
import { compareHostSpecificity, isWildcard } from './hostnames.js';
import type { ClusterIR, HttpFilterIR, ListenerIR, PortIR, RouteTable, VirtualHostIR, WeightedBackendIR } from './ir.js';
import { listenerServes, mergedListeners } from './listeners.js';
import { compareEntries } from './precedence.js';
import type { GatewayState, HttpEntry, ListenerState } from './types.js';
import { irProtocol } from './types.js';

/**
 * Assemble the route table from the listeners that can serve: one PortIR per
 * bind address and port (listeners of several Gateways on the same address
 * share it), listeners most specific hostname first, virtual hosts most
 * specific first, route entries in precedence order. Deep-frozen.
 */
export function buildTable(gateways: readonly GatewayState[], ctx: TranslateContext): RouteTable {
  const ports = new Map<string, { address: string; port: number; protocol: PortIR['protocol']; listeners: ListenerIR[] }>();
  for (const g of gateways) {
    for (const l of mergedListeners(g)) {
      if (!listenerServes(l)) continue;
      const protocol = irProtocol(l.protocol);
      if (protocol === undefined) continue;
      const ir = listenerIR(l, protocol);
      for (const address of g.bindAddresses) {
        // UDP and TCP-based listeners on the same port number are different sockets.
        const key = `${address}|${l.port}${protocol === 'UDP' ? '|udp' : ''}`;
        let p = ports.get(key);
        if (p === undefined) {
          p = { address, port: l.port, protocol, listeners: [] };
          ports.set(key, p);
        }
        // HTTPS and TLS share a port by SNI: the port is HTTPS when any listener is.
        if (protocol === 'HTTPS') p.protocol = 'HTTPS';
        p.listeners.push(ir);
      }
    }
  }
  const portList: PortIR[] = [...ports.values()]
    .map((p) => ({ ...p, listeners: p.listeners.sort((a, b) => compareHostSpecificity(a.hostname, b.hostname) || cmp(a.id, b.id)) }))
    .sort((a, b) => a.port - b.port || cmp(a.address, b.address) || cmp(a.protocol, b.protocol));
  const used = new Set<string>();
  for (const p of portList) for (const l of p.listeners) collectClusters(l, used);
  const clusters: Record<string, ClusterIR> = {};
  for (const id of [...used].sort()) {
    const c = ctx.clusters.get(id);
    if (c) clusters[id] = c;
  }
  const version = builtContentHash({ ports: portList, clusters });
  return deepFreeze({ version, ports: portList, clusters });
}

function listenerIR(l: ListenerState, protocol: PortIR['protocol']): ListenerIR {
  return {
    id: l.id,
    gateway: { namespace: l.gateway.namespace, name: l.gateway.name },
    name: l.name,
    protocol,
    ...(l.hostname !== undefined ? { hostname: l.hostname } : {}),
    ...(l.tls !== undefined && l.tlsMode === 'Terminate' ? { tls: l.tls } : {}),
    ...(l.tlsMode !== undefined ? { tlsMode: l.tlsMode } : {}),
    virtualHosts: virtualHosts(l.httpEntries),
    l4Routes: l.l4Routes,
  };
}

/**
 * One virtual host per distinct effective hostname. A request is served by the
 * most specific virtual host matching its Host, so each virtual host holds
 * every entry whose hostname covers it (its own, wider wildcards, and "*"):
 * across routes, match precedence decides, and hostname specificity only
 * breaks ties (HTTPRouteMatchingAcrossRoutes: a "*.com" route's /v2 beats an
 * "example.com" route's / for example.com/v2).
 */
function virtualHosts(entries: readonly HttpEntry[]): VirtualHostIR[] {
  const byHost = new Map<string, HttpEntry[]>();
  for (const e of entries) {
    const list = byHost.get(e.hostname);
    if (list) list.push(e);
    else byHost.set(e.hostname, [e]);
  }
  const hostnames = [...byHost.keys()].sort(compareHostSpecificity);
  return hostnames.map((hostname) => {
    const covering: HttpEntry[] = [];
    for (const h of coveringNames(hostname)) covering.push(...(byHost.get(h) ?? []));
    covering.sort(compareEntries);
    // A route whose several hostnames cover this virtual host appears once, under its most specific name.
    const seen = new Set<HttpEntry['ir']>();
    const routes = [];
    for (const e of covering) {
      if (seen.has(e.ir)) continue;
      seen.add(e.ir);
      routes.push(e.ir);
    }
    return { hostname, routes };
  });
}

/** The names whose entries serve a virtual host: itself, every wider wildcard, and "*" (see hostnameCovers). */
function coveringNames(hostname: string): string[] {
  if (hostname === '*') return ['*'];
  const out = [hostname];
  let rest = isWildcard(hostname) ? hostname.slice(2) : hostname;
  for (let dot = rest.indexOf('.'); dot !== -1; dot = rest.indexOf('.')) {
    rest = rest.slice(dot + 1);
    out.push(`*.${rest}`);
  }
  out.push('*');
  return out;
}

function collectClusters(l: ListenerIR, out: Set<string>): void {
  const fromFilters = (filters: readonly HttpFilterIR[]): void => {
    for (const f of filters) if (f.type === 'RequestMirror' && f.cluster !== undefined) out.add(f.cluster);
  };
  const fromBackends = (backends: readonly WeightedBackendIR[]): void => {
    for (const b of backends) {
      if (b.cluster !== undefined) out.add(b.cluster);
      fromFilters(b.filters);
    }
  };
  for (const vh of l.virtualHosts) {
    for (const r of vh.routes) {
      fromFilters(r.action.filters);
      fromBackends(r.action.backends);
    }
  }
  for (const r of l.l4Routes) fromBackends(r.backends);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
