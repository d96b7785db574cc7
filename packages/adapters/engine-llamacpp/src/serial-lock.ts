/** One engine operation at a time (the engine owns one llama.cpp context per model); FIFO. */
export class SerialLock {
  private tail: Promise<void> = Promise.resolve();

  /** Resolves when the caller holds the lock; call the returned function to release it. */
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => held);
    await previous;
    return release;
  }
}
