import { Counter, Gauge, type Registry } from 'prom-client';

/** Something compiled (a route, a listener, a port) that caches its metric series. */
export interface MetricHolder {
  metricCache: unknown[] | undefined;
}

const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'];

/** Counts for one (listener, route) pair: plain numbers, updated without allocation. */
class RouteSeries {
  /** Requests by status class index (status / 100, 0 for anything else). */
  readonly byClass = [0, 0, 0, 0, 0, 0];
  /** Non-cumulative bucket counts; the last slot is +Inf. */
  readonly buckets = new Array<number>(DURATION_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  constructor(readonly listener: string, readonly route: string) {}
}

/** Every series of one registry (shared by data planes that use the same registry). */
class SeriesStore {
  readonly series = new Map<string, RouteSeries>();

  get(listener: string, route: string): RouteSeries {
    const key = `${listener}\u0000${route}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = new RouteSeries(listener, route);
      this.series.set(key, s);
    }
    return s;
  }
}

const stores = new WeakMap<Registry, SeriesStore>();

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * A prom-client-compatible metric read from the store at scrape time. prom-client's
 * own labelled children hash their labels on every inc()/observe(), which costs
 * more than the rest of the request accounting; these cost an array increment.
 */
class StoreMetric {
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    readonly store: SeriesStore,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const s of this.store.series.values()) {
      if (this.type === 'counter') {
        for (let c = 0; c < s.byClass.length; c++) {
          if (s.byClass[c] !== 0) values.push({ labels: { listener: s.listener, route: s.route, status_class: STATUS_CLASSES[c] }, value: s.byClass[c] });
        }
      } else {
        let cumulative = 0;
        for (let b = 0; b < s.buckets.length; b++) {
          cumulative += s.buckets[b];
          const le = b < DURATION_BUCKETS.length ? DURATION_BUCKETS[b] : '+Inf';
          values.push({ labels: { listener: s.listener, route: s.route, le }, value: cumulative, metricName: `${this.name}_bucket` });
        }
        values.push({ labels: { listener: s.listener, route: s.route }, value: s.sum, metricName: `${this.name}_sum` });
        values.push({ labels: { listener: s.listener, route: s.route }, value: s.count, metricName: `${this.name}_count` });
      }
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.store.series.clear();
  }
}

/**
 * Data plane metrics:
 *   sluice_http_requests_total{listener,route,status_class}
 *   sluice_http_request_duration_seconds{listener,route} (histogram)
 *   sluice_upstream_errors_total{cluster,reason}
 *   sluice_http_active_connections{port}
 */
export class DataPlaneMetrics {
  readonly upstreamErrors: Counter<'cluster' | 'reason'>;
  readonly activeConnections: Gauge<'port'>;
  readonly #store: SeriesStore;

  constructor(registry: Registry) {
    let store = stores.get(registry);
    if (store === undefined) {
      store = new SeriesStore();
      stores.set(registry, store);
      // Custom metric objects: prom-client formats whatever get() returns.
      registry.registerMetric(new StoreMetric('sluice_http_requests_total', 'HTTP requests handled, by listener, route and status class', 'counter', store) as never);
      registry.registerMetric(new StoreMetric('sluice_http_request_duration_seconds', 'Time from request start to the end of the response', 'histogram', store) as never);
    }
    this.#store = store;
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
  }

  record(holder: MetricHolder, listener: string, route: string, status: number, seconds: number): void {
    let s = holder.metricCache as unknown as RouteSeries | undefined;
    if (s === undefined || s.listener !== listener) {
      s = this.#store.get(listener, route);
      holder.metricCache = s as unknown as unknown[];
    }
    s.byClass[status >= 100 && status < 600 ? (status / 100) | 0 : 0]++;
    let b = 0;
    while (b < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[b]) b++;
    s.buckets[b]++;
    s.sum += seconds;
    s.count++;
  }
}

function getOrCreate<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/** What the access log metric reads: the built-in writer's count of lines it had to drop. */
export interface DroppedLinesSource {
  readonly dropped: number;
}

/**
 * sluice_access_log_dropped_lines_total: lines the access log dropped because
 * its destination could not keep up (or failed). Read at scrape time; one
 * writer per registry (a second data plane on the same registry keeps the first's).
 */
export function registerAccessLogMetrics(registry: Registry, source: DroppedLinesSource): void {
  const name = 'sluice_access_log_dropped_lines_total';
  let reported = 0;
  getOrCreate(registry, name, () => new Counter({
    name,
    help: 'Access log lines dropped because the log destination could not keep up',
    registers: [registry],
    collect() {
      const delta = source.dropped - reported;
      if (delta > 0) {
        this.inc(delta);
        reported += delta;
      }
    },
  }));
}
