import { isCallLive, type LlmCall } from "./llm-call.js";

/**
 * The ready calls of one operator, oldest first. Calls whose every consumer's
 * query has finished (failed elsewhere) are dead: they are dropped lazily, when
 * they reach the head, through `onDrop`. Amortized O(1) per operation, so a
 * queue of tens of thousands of calls stays cheap to poll.
 */
export class CallQueue {
  private items: LlmCall[] = [];
  private head = 0;

  constructor(private readonly onDrop: (call: LlmCall) => void) {}

  /** Calls queued, dead ones not yet dropped included. */
  get length(): number {
    return this.items.length - this.head;
  }

  push(call: LlmCall): void {
    this.items.push(call);
  }

  /** Puts calls back at the head, in their order (retries go first). */
  requeueFront(calls: readonly LlmCall[]): void {
    for (const call of [...calls].reverse()) {
      if (this.head > 0) this.items[--this.head] = call;
      else this.items.unshift(call);
    }
  }

  /** The oldest live call (dead ones before it are dropped), or undefined. */
  peek(): LlmCall | undefined {
    while (this.head < this.items.length) {
      const call = this.items[this.head]!;
      if (isCallLive(call)) return call;
      this.head += 1;
      this.onDrop(call);
    }
    this.compact();
    return undefined;
  }

  /** Removes and returns the oldest live call. */
  shift(): LlmCall | undefined {
    const call = this.peek();
    if (call) {
      this.head += 1;
      if (this.head > 1024 && this.head * 2 > this.items.length) this.compact();
    }
    return call;
  }

  /** Removes and returns every live call. */
  drain(): LlmCall[] {
    const live: LlmCall[] = [];
    for (let call = this.shift(); call; call = this.shift()) live.push(call);
    return live;
  }

  private compact(): void {
    this.items = this.items.slice(this.head);
    this.head = 0;
  }
}
