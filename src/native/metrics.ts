/**
 * Prometheus metrics of the splice engine, read from its counters at scrape
 * time (the kernel moves the bytes, so there is nothing to count in Node).
 * By convention socket A is the client and B the backend (relay(engine, client, upstream)).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SpliceEngine } from './splice.js';

/** A counter that follows a monotonic source value (increments by the delta at each scrape). */
function followingCounter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], read: () => Array<[Partial<Record<L, string>>, number]>): void {
  const last = new Map<string, number>();
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const delta = value - (last.get(key) ?? 0);
        // A source that went backwards was reloaded (engine closed and loaded again): count from there.
        this.inc(labels as never, delta > 0 ? delta : 0);
        last.set(key, value);
      }
    },
  });
}

export function registerSpliceMetrics(registry: Registry, engine: SpliceEngine): void {
  new Gauge({
    name: 'sluice_splice_enabled',
    help: '1 when L4 connections are spliced in the kernel (eBPF sockmap), 0 when relayed in userspace',
    registers: [registry],
    collect() {
      this.set(engine.enabled ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sluice_splice_active_connections',
    help: 'Connection pairs currently spliced in the kernel',
    registers: [registry],
    collect() {
      this.set(engine.activePairs);
    },
  });
  followingCounter(registry, 'sluice_splice_connections_total', 'Connection pairs spliced in the kernel', [], () => [[{}, engine.stats().splicedTotal]]);
  followingCounter(registry, 'sluice_splice_bytes_total', 'Bytes moved by the kernel between spliced sockets', ['direction'], () => {
    const s = engine.stats();
    return [
      [{ direction: 'client_to_backend' }, s.aToBBytes ?? 0],
      [{ direction: 'backend_to_client' }, s.bToABytes ?? 0],
    ];
  });
  followingCounter(registry, 'sluice_splice_fallbacks_total', 'Connections the engine declined to splice (relayed in userspace instead)', [], () => [[{}, engine.stats().refused]]);
  followingCounter(registry, 'sluice_splice_aborted_total', 'Spliced pairs torn down by an error or reset', [], () => [[{}, engine.stats().aborted]]);
  followingCounter(registry, 'sluice_splice_redirect_failures_total', 'skbs the BPF verdict could not redirect (should stay 0)', [], () => [[{}, engine.stats().redirectFail ?? 0]]);
}
