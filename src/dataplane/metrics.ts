import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

type RequestLabels = 'listener' | 'route' | 'status_class';

/** Something compiled (a route or a listener) that caches its metric children. */
export interface MetricHolder {
  metricCache: unknown[] | undefined;
}

interface Children {
  readonly duration: { observe(v: number): void };
  /** Indexed by status / 100 (0 for anything unusual). */
  readonly counters: ({ inc(): void } | undefined)[];
}

/**
 * Data plane metrics. Label children are cached on the compiled route or
 * listener, so a request costs two array reads instead of label hashing.
 */
export class DataPlaneMetrics {
  readonly requests: Counter<RequestLabels>;
  readonly upstreamErrors: Counter<'cluster' | 'reason'>;
  readonly activeConnections: Gauge<'port'>;
  readonly duration: Histogram<'listener' | 'route'>;

  constructor(registry: Registry) {
    this.requests = getOrCreate(registry, 'sluice_http_requests_total', () => new Counter({
      name: 'sluice_http_requests_total',
      help: 'HTTP requests handled, by listener, route and status class',
      labelNames: ['listener', 'route', 'status_class'],
      registers: [registry],
    }));
    this.upstreamErrors = getOrCreate(registry, 'sluice_upstream_errors_total', () => new Counter({
      name: 'sluice_upstream_errors_total',
      help: 'Upstream failures, by cluster and reason',
      labelNames: ['cluster', 'reason'],
      registers: [registry],
    }));
    this.activeConnections = getOrCreate(registry, 'sluice_http_active_connections', () => new Gauge({
      name: 'sluice_http_active_connections',
      help: 'Open client connections, by port',
      labelNames: ['port'],
      registers: [registry],
    }));
    this.duration = getOrCreate(registry, 'sluice_http_request_duration_seconds', () => new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'Time from request start to the end of the response',
      labelNames: ['listener', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }));
  }

  record(holder: MetricHolder, listener: string, route: string, status: number, seconds: number): void {
    let children = holder.metricCache as unknown as Children | undefined;
    if (children === undefined) {
      children = { duration: this.duration.labels(listener, route), counters: [] };
      holder.metricCache = children as unknown as unknown[];
    }
    const cls = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
    let counter = children.counters[cls];
    if (counter === undefined) {
      counter = this.requests.labels(listener, route, cls === 0 ? 'other' : `${cls}xx`);
      children.counters[cls] = counter;
    }
    counter.inc();
    children.duration.observe(seconds);
  }
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}
