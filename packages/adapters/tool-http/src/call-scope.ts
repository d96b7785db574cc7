/**
 * The cancellation of one HTTP tool call: its own AbortController, aborted by the caller's
 * signal, the request timeout or the tool closing — and the first reason kept, so the error
 * can say which. (Not AbortSignal.any over a tool-wide signal: Node 20 keeps every signal
 * composed with a long-lived one alive, which leaks over many thousands of calls.)
 */

/** Why a call was interrupted. */
export type InterruptReason = "aborted" | "timeout" | "closed";

/** One call's abort controller and the reason it was aborted, if it was. */
export class CallScope {
  readonly #controller = new AbortController();
  readonly #cleanups: (() => void)[] = [];
  #reason: InterruptReason | undefined;

  /** Follows `callerSignal` (already aborted → aborted at once). */
  constructor(callerSignal: AbortSignal | undefined) {
    if (callerSignal === undefined) return;
    if (callerSignal.aborted) {
      this.interrupt("aborted");
      return;
    }
    const onAbort = (): void => this.interrupt("aborted");
    callerSignal.addEventListener("abort", onAbort, { once: true });
    this.#cleanups.push(() => callerSignal.removeEventListener("abort", onAbort));
  }

  /** The signal to hand to fetch, timers and streams. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The first reason the call was interrupted, or undefined. */
  get reason(): InterruptReason | undefined {
    return this.#reason;
  }

  /** Aborts the call for `reason`, unless it was already interrupted. */
  interrupt(reason: InterruptReason): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller.abort();
  }

  /** Interrupts with `timeout` after `ms`; returns the function that disarms it. */
  startTimeout(ms: number): () => void {
    const timer = setTimeout(() => this.interrupt("timeout"), ms);
    const stop = (): void => clearTimeout(timer);
    this.#cleanups.push(stop);
    return stop;
  }

  /** Stops following the caller's signal and clears timers. */
  dispose(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }
}
