import type { Logger } from '../util/log.js';
import type { Snapshot } from '../store/snapshot.js';
import type { RouteTable } from '../translate/ir.js';
import type { Diagnostic, ObjectStatus, TranslateOptions, TranslateResult } from '../translate/status.js';
import { mergeBindFailures, stampTransitions, type ListenerBindState } from './status-merge.js';

/** The part of the data plane the engine drives. */
export interface DataPlaneDriver {
  apply(table: RouteTable): Promise<{ listeners: Readonly<Record<string, ListenerBindState>> }>;
}

export type Translator = (snapshot: Snapshot, options: TranslateOptions) => TranslateResult;

/** A problem found while loading objects, before translation (kept for check/config_dump). */
export interface LoadProblem {
  readonly message: string;
  readonly code?: string;
}

export interface EngineState {
  readonly generation: number;
  readonly table: RouteTable | undefined;
  readonly statuses: readonly ObjectStatus[];
  readonly diagnostics: readonly Diagnostic[];
  readonly loadProblems: readonly LoadProblem[];
  readonly listeners: Readonly<Record<string, ListenerBindState>>;
  readonly appliedAt: string | undefined;
}

export interface EngineOptions {
  readonly dataPlane: DataPlaneDriver;
  readonly translate: Translator;
  readonly translateOptions: TranslateOptions;
  readonly logger: Logger;
  readonly clock?: () => Date;
  /** Called after each successful apply, with statuses stamped with lastTransitionTime. */
  readonly onStatus?: (statuses: readonly ObjectStatus[]) => void;
}

/**
 * The loop shared by every mode: snapshot -> translate -> apply -> status.
 * Updates are serialised; when several arrive during one apply only the newest
 * is applied next (they are full snapshots, so skipping is safe).
 */
export class GatewayEngine {
  #state: EngineState = {
    generation: 0, table: undefined, statuses: [], diagnostics: [], loadProblems: [], listeners: {}, appliedAt: undefined,
  };
  #pending: { snapshot: Snapshot; problems: readonly LoadProblem[] } | undefined;
  #running: Promise<void> | undefined;
  readonly #opts: EngineOptions;

  constructor(opts: EngineOptions) {
    this.#opts = opts;
  }

  get state(): EngineState {
    return this.#state;
  }

  /** Queue a snapshot; resolves once it (or a newer one) has been applied. */
  update(snapshot: Snapshot, problems: readonly LoadProblem[] = []): Promise<void> {
    this.#pending = { snapshot, problems };
    if (!this.#running) {
      this.#running = this.#drainQueue().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async #drainQueue(): Promise<void> {
    while (this.#pending) {
      const { snapshot, problems } = this.#pending;
      this.#pending = undefined;
      await this.#applyOne(snapshot, problems);
    }
  }

  async #applyOne(snapshot: Snapshot, problems: readonly LoadProblem[]): Promise<void> {
    const { logger } = this.#opts;
    let result: TranslateResult;
    try {
      result = this.#opts.translate(snapshot, this.#opts.translateOptions);
    } catch (err) {
      // A translator bug must not take down a serving gateway: keep the last table.
      logger.error({ err }, 'translate failed; keeping the last good route table');
      return;
    }
    const sameTable = this.#state.table?.version === result.table.version;
    const report = sameTable ? { listeners: this.#state.listeners } : await this.#opts.dataPlane.apply(result.table);
    const now = (this.#opts.clock?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const merged = mergeBindFailures(result.statuses, report.listeners);
    const statuses = stampTransitions(merged, this.#state.statuses, now);
    this.#state = {
      generation: this.#state.generation + 1,
      table: result.table,
      statuses,
      diagnostics: result.diagnostics,
      loadProblems: problems,
      listeners: report.listeners,
      appliedAt: now,
    };
    for (const d of result.diagnostics) {
      logger.warn({ object: d.object, field: d.field, code: d.code }, d.message);
    }
    if (!sameTable) logger.info({ version: result.table.version, ports: result.table.ports.length }, 'route table applied');
    this.#opts.onStatus?.(statuses);
  }

  /** Listeners that should be bound but are not. */
  unboundListeners(): string[] {
    return Object.entries(this.#state.listeners)
      .filter(([, s]) => !s.programmed)
      .map(([id, s]) => `${id}: ${s.message ?? 'not programmed'}`);
  }
}
