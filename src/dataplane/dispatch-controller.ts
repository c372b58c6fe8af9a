import type { Dispatcher } from 'undici';

/**
 * The state every upstream client's DispatchController keeps (aborted,
 * paused, reason); subclasses say what abort/pause/resume do to their
 * transport.
 */
export abstract class DispatchControllerBase implements Dispatcher.DispatchController {
  #aborted = false;
  #reason: Error | null = null;
  #paused = false;

  get aborted(): boolean {
    return this.#aborted;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get reason(): Error | null {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.onAbort();
  }

  pause(): void {
    this.#paused = true;
    this.onPause();
  }

  resume(): void {
    this.#paused = false;
    this.onResume();
  }

  protected abstract onAbort(): void;
  protected abstract onPause(): void;
  protected abstract onResume(): void;
}
