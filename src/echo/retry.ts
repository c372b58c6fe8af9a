/**
 * Attempt counts per retry-simulation uuid (`/retry/?uuid=&succeedAfter=`).
 * Bounded: when full, the oldest uuid is forgotten, so a long conformance run
 * cannot grow it without limit.
 */
export class RetryTracker {
  private readonly attempts = new Map<string, number>();
  constructor(private readonly limit = 10_000) {}

  /**
   * Record an attempt for `uuid`. Returns true while the attempt must fail,
   * i.e. for the first `succeedAfter` attempts, and false from then on.
   */
  shouldFail(uuid: string, succeedAfter: number): boolean {
    const seen = this.attempts.get(uuid) ?? 0;
    if (seen >= succeedAfter) return false;
    if (seen === 0 && this.attempts.size >= this.limit) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
    this.attempts.set(uuid, seen + 1);
    return true;
  }

  get size(): number {
    return this.attempts.size;
  }
}
