/**
 * One engine call at a time: the engine owns the device. Callers queue in
 * arrival order (a FIFO promise chain); a failing call does not block the next.
 */
export class EngineLock {
  private tail: Promise<unknown> = Promise.resolve();
  private held = 0;

  /** Whether a call holds or waits for the engine. */
  get busy(): boolean {
    return this.held > 0;
  }

  run<T>(action: () => Promise<T>): Promise<T> {
    this.held++;
    const result = this.tail.then(action);
    this.tail = result.then(
      () => this.held--,
      () => this.held--,
    );
    return result;
  }
}
