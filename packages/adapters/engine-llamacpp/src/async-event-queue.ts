/**
 * A queue that producers push into and one consumer drains with `for await`:
 * the bridge between concurrently decoding sequences and one event stream.
 */
export class AsyncEventQueue<T> {
  private readonly items: T[] = [];
  private waiting: (() => void) | undefined;
  private ended = false;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  /** No more items will come; the consumer finishes after draining. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  async *drain(): AsyncGenerator<T> {
    while (true) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
      });
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
