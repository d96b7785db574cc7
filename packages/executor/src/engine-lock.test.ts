import { describe, expect, it } from "vitest";
import { EngineLock } from "./engine-lock.js";

describe("EngineLock", () => {
  it("runs one action at a time in arrival order, past failures", async () => {
    const lock = new EngineLock();
    const log: string[] = [];
    let running = 0;
    const action =
      (name: string, fail = false) =>
      async () => {
        running++;
        expect(running).toBe(1);
        log.push(`start ${name}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`end ${name}`);
        running--;
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([
      lock.run(action("a")),
      lock.run(action("b", true)),
      lock.run(action("c")),
    ]);
    expect(results.map((result) => result.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
    expect(lock.busy).toBe(false);
  });
});
