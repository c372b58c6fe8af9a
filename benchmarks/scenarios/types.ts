/**
 * The contract between the runner (benchmarks/run.ts) and a scenario.
 *
 * A scenario brings up what every target shares (e.g. the upstream), then the runner asks
 * it, round after round in rotating order, to measure each target. The runner owns pinning
 * defaults, CPU accounting, rounds, medians, ratios, the table, the JSON and RESULTS.md,
 * so a new scenario (L4 passthrough with iperf3, TLS, ...) only has to start its processes
 * and turn one measured run into named numbers.
 */
import type { Managed, ProcessSet } from '../lib/procs.ts';

export interface BenchConfig {
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly threads: number;
  readonly rounds: number;
  /** CPU list for the system under test (taskset -c), or undefined when not pinning. */
  readonly proxyCpus?: string;
  /** CPU list for the load generator and the upstream. */
  readonly loadCpus?: string;
  readonly portBase: number;
  /** Extra node flags for the Sluice process (SLUICE_NODE_OPTIONS), e.g. --cpu-prof. */
  readonly sluiceNodeOptions: string;
  readonly only?: ReadonlySet<string>;
}

export interface ScenarioContext {
  readonly config: BenchConfig;
  readonly procs: ProcessSet;
  /** Per-run directory for generated configs, logs and raw outputs. */
  readonly runDir: string;
  /** Repository root. */
  readonly root: string;
  /** The project's pinned node binary (node_modules/.bin/node). */
  readonly nodeBin: string;
  readonly log: (msg: string) => void;
}

/** Numbers from one measured run, keyed by metric name (see Scenario.columns). */
export type Metrics = Record<string, number>;

export interface Measurement {
  readonly metrics: Metrics;
  /** Exact command line of the load generator, for the record. */
  readonly command: string;
  /** Raw output file. */
  readonly rawFile: string;
  /** Wrong answers or failed connections; a non-empty list marks the run invalid. */
  readonly problems: readonly string[];
  /** Worth a note but not wrong (e.g. stalls of a busy host); the run still counts. */
  readonly warnings: readonly string[];
}

export interface Target {
  /** Short identifier used in tables, JSON and BENCH_ONLY. */
  readonly name: string;
  readonly description: string;
  /** Start the target's own processes (none for "direct"); resolves once it serves correctly. */
  start(ctx: ScenarioContext): Promise<Managed | undefined>;
}

export interface Column {
  readonly key: string;
  readonly header: string;
  readonly digits: number;
}

export interface Ratio {
  readonly label: string;
  readonly numerator: string;
  readonly denominator: string;
  /** Reported (never asserted) target, e.g. 0.5 for Sluice/nginx. */
  readonly goal?: number;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Commands the scenario needs, mapped to the Debian package providing each. */
  readonly debianPackages: Record<string, string>;
  /** Metric the ratios and the median use ("higher is better"). */
  readonly primary: string;
  readonly columns: readonly Column[];
  /** Target every "× ref" column is relative to, plus named pairs checked against goals. */
  readonly reference: string;
  readonly ratios: readonly Ratio[];
  /** Text for RESULTS.md describing the set-up (upstream, configs, pinning). */
  describe(ctx: ScenarioContext): string;
  /** Start shared processes and return the targets in their base order. */
  setup(ctx: ScenarioContext): Promise<readonly Target[]>;
  /** Warm up one target that is already running (may do nothing). */
  warmup(ctx: ScenarioContext, target: Target, label: string): Promise<void>;
  /** Measure one target that is already running and warmed up. */
  measure(ctx: ScenarioContext, target: Target, label: string): Promise<Measurement>;
}
