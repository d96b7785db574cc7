/**
 * A pool of CPU slots (SQL connections, HTTP sockets): at most `concurrency`
 * tasks run at once. Waiting tasks start by priority (lower first), then in
 * arrival order; every task given no priority has priority 0, so the pool is
 * FIFO.
 */
export class ConcurrencyPool {
  private running = 0;
  private arrivals = 0;
  /** Waiting tasks as a binary min-heap on (priority, arrival). */
  private readonly waiting: Waiter[] = [];

  constructor(
    readonly name: string,
    readonly concurrency: number,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`pool "${name}": concurrency must be a positive integer (got ${concurrency})`);
    }
  }

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `task` once a slot is free; the slot is released when it settles.
   * `priority` orders the waiting tasks (lower first; equal ones FIFO).
   */
  async run<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    if (Number.isNaN(priority)) throw new RangeError(`pool "${this.name}": priority must be a number`);
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => {
        this.arrivals += 1;
        this.push({ priority, arrival: this.arrivals, resolve });
      });
    } else {
      this.running += 1;
    }
    try {
      return await task();
    } finally {
      const next = this.pop();
      // The slot passes straight to the next task, so `running` stays the same.
      if (next) next.resolve();
      else this.running -= 1;
    }
  }

  private push(waiter: Waiter): void {
    const heap = this.waiting;
    heap.push(waiter);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(heap[index]!, heap[parent]!)) break;
      [heap[index], heap[parent]] = [heap[parent]!, heap[index]!];
      index = parent;
    }
  }

  private pop(): Waiter | undefined {
    const heap = this.waiting;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === index) break;
      [heap[index], heap[smallest]] = [heap[smallest]!, heap[index]!];
      index = smallest;
    }
    return top;
  }
}

interface Waiter {
  readonly priority: number;
  readonly arrival: number;
  readonly resolve: () => void;
}

function before(left: Waiter, right: Waiter): boolean {
  return left.priority < right.priority || (left.priority === right.priority && left.arrival < right.arrival);
}
