/**
 * In-process publish/subscribe for the server's live views (SSE): a channel
 * per batch (`batch:<id>`), per online query (`query:<id>`), and `server` for
 * the dashboard. A slow subscriber never blocks the publisher: its buffer is
 * bounded and the oldest events are dropped first.
 */

/** One server event, as sent on an SSE stream (`event:` is `type`). */
export interface ServerEvent {
  readonly type: string;
  readonly data: unknown;
}

/** Events a subscriber may lag behind before the oldest are dropped. */
const MAX_BUFFERED_EVENTS = 1_000;

/** A subscription: iterate it; `close()` ends it. */
export interface Subscription extends AsyncIterable<ServerEvent> {
  close(): void;
}

export class EventHub {
  private readonly channels = new Map<string, Set<HubSubscriber>>();

  publish(channel: string, event: ServerEvent): void {
    const subscribers = this.channels.get(channel);
    if (!subscribers) return;
    for (const subscriber of subscribers) subscriber.push(event);
  }

  /** Subscribers of a channel right now (tests, metrics). */
  subscriberCount(channel: string): number {
    return this.channels.get(channel)?.size ?? 0;
  }

  subscribe(channel: string): Subscription {
    let subscribers = this.channels.get(channel);
    if (!subscribers) {
      subscribers = new Set();
      this.channels.set(channel, subscribers);
    }
    const set = subscribers;
    const subscriber = new HubSubscriber(() => {
      set.delete(subscriber);
      if (set.size === 0) this.channels.delete(channel);
    });
    set.add(subscriber);
    return subscriber;
  }

  /** Ends every subscription (server shutdown). */
  closeAll(): void {
    for (const subscribers of this.channels.values())
      for (const subscriber of subscribers) subscriber.close();
    this.channels.clear();
  }
}

class HubSubscriber implements Subscription {
  private readonly buffer: ServerEvent[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly onClose: () => void) {}

  push(event: ServerEvent): void {
    if (this.closed) return;
    if (this.buffer.length >= MAX_BUFFERED_EVENTS) this.buffer.shift();
    this.buffer.push(event);
    this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ServerEvent> {
    try {
      while (true) {
        const next = this.buffer.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
      }
    } finally {
      this.close();
    }
  }
}
