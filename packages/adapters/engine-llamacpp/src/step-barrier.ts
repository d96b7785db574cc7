/**
 * Keeps the sequences of a batch in lockstep: each waits at every generated token
 * until every other still-active sequence has its token too, then all continue at
 * once and queue their next decode together. Without it, node-llama-cpp's decode
 * loop starts the next llama.cpp batch with whichever sequences re-queued first
 * (sampling finishes at different moments), splitting a batch of 16 into small ones.
 */
export class StepBarrier {
  private arrived = 0;
  private waiting: (() => void)[] = [];

  constructor(private participants: number) {}

  /** This participant has its token for the step; resolves when the whole step is in. */
  arrive(): Promise<void> {
    this.arrived += 1;
    const released = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.releaseIfComplete();
    return released;
  }

  /** This participant stops (finished or failed); the others no longer wait for it. */
  leave(): void {
    this.participants -= 1;
    this.releaseIfComplete();
  }

  private releaseIfComplete(): void {
    if (this.waiting.length === 0 || this.arrived < this.participants) return;
    const waiting = this.waiting;
    this.waiting = [];
    this.arrived = 0;
    // Released on a later macrotask: by then node-llama-cpp's decode loop has seen an
    // empty queue and stopped, so all sequences re-queue before the next decode starts
    // (released at once, the loop may race ahead with the first few).
    setImmediate(() => {
      for (const resolve of waiting) resolve();
    });
  }
}
