import { describe, expect, it } from "vitest";
import { AsyncEventQueue } from "./async-event-queue.js";
import { SerialLock } from "./serial-lock.js";

describe("AsyncEventQueue", () => {
  it("delivers items pushed before and while draining, then ends", async () => {
    const queue = new AsyncEventQueue<number>();
    queue.push(1);
    const drained: number[] = [];
    const done = (async () => {
      for await (const item of queue.drain()) drained.push(item);
    })();
    await new Promise((resolve) => setTimeout(resolve, 5));
    queue.push(2);
    queue.push(3);
    queue.end();
    await done;
    expect(drained).toEqual([1, 2, 3]);
  });
});

describe("SerialLock", () => {
  it("runs holders one at a time in arrival order", async () => {
    const lock = new SerialLock();
    const order: string[] = [];
    const hold = async (name: string, waitMs: number) => {
      const release = await lock.acquire();
      order.push(`${name}:start`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      order.push(`${name}:end`);
      release();
    };
    await Promise.all([hold("a", 10), hold("b", 0), hold("c", 0)]);
    expect(order).toEqual(["a:start", "a:end", "b:start", "b:end", "c:start", "c:end"]);
  });
});
