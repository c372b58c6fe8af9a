/**
 * Smooth weighted round robin (the algorithm nginx uses): every pick adds
 * each item's weight to its running score, takes the highest score and
 * subtracts the total from it. Over every `sum(weights)` picks each item is
 * chosen exactly `weight` times, spread out evenly (95/5 gives 95 and 5 in
 * every window of 100). Items with weight 0 are never chosen.
 */
export class SmoothWeighted<T> {
  readonly items: readonly T[];
  readonly #weights: number[];
  readonly #current: number[];
  readonly #total: number;

  constructor(items: readonly T[], weights: readonly number[]) {
    const keptItems: T[] = [];
    const keptWeights: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const w = weights[i];
      if (Number.isFinite(w) && w > 0) {
        keptItems.push(items[i]);
        keptWeights.push(Math.floor(w));
      }
    }
    this.items = keptItems;
    this.#weights = keptWeights;
    this.#current = keptWeights.map(() => 0);
    this.#total = keptWeights.reduce((a, b) => a + b, 0);
  }

  /** Undefined when no item has a positive weight. */
  pick(): T | undefined {
    const n = this.items.length;
    if (n === 0) return undefined;
    if (n === 1) return this.items[0];
    const cur = this.#current;
    const w = this.#weights;
    let best = 0;
    for (let i = 0; i < n; i++) {
      cur[i] += w[i];
      if (cur[i] > cur[best]) best = i;
    }
    cur[best] -= this.#total;
    return this.items[best];
  }

  /** Copy the running scores of another picker with the same items and weights (keeps splits exact across reloads). */
  adoptState(other: SmoothWeighted<T>): void {
    const from = other.#current;
    const to = this.#current;
    if (from.length === to.length) for (let i = 0; i < to.length; i++) to[i] = from[i];
  }
}
