import { setTimeout as delay } from "node:timers/promises";

/** Sleeps shorter than this are deferred and merged: timers cannot wait a fraction of a millisecond. */
const MIN_SLEEP_MS = 1;

/**
 * Replays simulated time on the wall clock, scaled: `advance(ms)` moves the
 * simulated clock by `ms` and waits until the wall clock has moved
 * `ms × timeScale` since the timeline started. Short steps accumulate into
 * one timer, so thousands of sub-millisecond decode steps cost a few timers
 * and the total wait stays accurate.
 */
export class ScaledTimeline {
  private readonly startedAt = performance.now();
  private simulatedMs = 0;

  constructor(
    private readonly timeScale: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** Simulated (unscaled) milliseconds elapsed on this timeline. */
  get elapsedSimulatedMs(): number {
    return this.simulatedMs;
  }

  async advance(simulatedMs: number): Promise<void> {
    this.simulatedMs += simulatedMs;
    const aheadMs = this.startedAt + this.simulatedMs * this.timeScale - performance.now();
    if (aheadMs >= MIN_SLEEP_MS) await delay(aheadMs, undefined, { signal: this.signal });
    this.signal?.throwIfAborted();
  }
}
