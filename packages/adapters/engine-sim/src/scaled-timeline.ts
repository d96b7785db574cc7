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
    const targetMs = this.startedAt + this.simulatedMs * this.timeScale;
    // Node's timers run on the event loop's cached millisecond clock and may fire up to about a
    // millisecond early: wait again for what is left, so the timeline is never more than
    // `MIN_SLEEP_MS` behind the wall clock's target (a fresh clone's CI caught a load 1.2 ms early).
    for (
      let aheadMs = targetMs - performance.now();
      aheadMs >= MIN_SLEEP_MS;
      aheadMs = targetMs - performance.now()
    )
      await delay(aheadMs, undefined, { signal: this.signal });
    this.signal?.throwIfAborted();
  }
}
