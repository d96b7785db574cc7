import { describe, expect, it } from "vitest";
import { ConcurrencyPool } from "./concurrency-pool.js";

describe("ConcurrencyPool", () => {
  it("runs at most `concurrency` tasks at once, in arrival order", async () => {
    const pool = new ConcurrencyPool("sql", 2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const tasks = Array.from({ length: 5 }, (_, index) =>
      pool.run(async () => {
        running += 1;
        peak = Math.max(peak, running);
        order.push(index);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return index;
      }),
    );
    while (order.length < 5) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(pool.active).toBeLessThanOrEqual(2);
      releases.shift()?.();
    }
    for (const release of releases) release();
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(pool.active).toBe(0);
    expect(pool.queued).toBe(0);
  });

  it("frees the slot of a failed task", async () => {
    const pool = new ConcurrencyPool("http", 1);
    await expect(pool.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    await expect(pool.run(async () => "next")).resolves.toBe("next");
  });

  it("refuses a concurrency below 1", () => {
    expect(() => new ConcurrencyPool("sql", 0)).toThrow(/pool "sql": concurrency must be a positive integer/);
  });
});

describe("ConcurrencyPool priorities", () => {
  it("starts waiting tasks by priority (lower first), equal priorities in arrival order", async () => {
    const pool = new ConcurrencyPool("http", 1);
    const order: string[] = [];
    let release: (() => void) | undefined;
    const blocker = pool.run(
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );
    const task = (name: string, priority?: number) =>
      pool.run(async () => {
        order.push(name);
      }, priority);
    // Queued while the blocker holds the only slot.
    const waiting = [
      task("late-a", 5),
      task("none"),
      task("early-a", 1),
      task("late-b", 5),
      task("early-b", 1),
      task("last", Number.POSITIVE_INFINITY),
      task("first", -1),
    ];
    expect(pool.queued).toBe(7);
    release!();
    await blocker;
    await Promise.all(waiting);
    expect(order).toEqual(["first", "none", "early-a", "early-b", "late-a", "late-b", "last"]);
    expect(pool.active).toBe(0);
  });

  it("refuses a priority that is not a number", async () => {
    const pool = new ConcurrencyPool("sql", 1);
    await expect(pool.run(async () => 1, Number.NaN)).rejects.toThrow(
      /pool "sql": priority must be a number/,
    );
  });
});
