import { describe, expect, it } from "vitest";
import { StepBarrier } from "./step-barrier.js";

describe("StepBarrier", () => {
  it("releases a step once every participant arrived or left", async () => {
    const barrier = new StepBarrier(3);
    const released: string[] = [];
    const first = barrier.arrive().then(() => released.push("a"));
    const second = barrier.arrive().then(() => released.push("b"));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(released).toEqual([]);
    barrier.leave();
    await Promise.all([first, second]);
    expect(released).toEqual(["a", "b"]);
    // The next step needs only the two remaining participants.
    const third = barrier.arrive();
    let done = false;
    void third.then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(done).toBe(false);
    await barrier.arrive();
    await third;
    expect(done).toBe(true);
  });

  it("lets a lone participant through at once", async () => {
    const barrier = new StepBarrier(1);
    await barrier.arrive();
    await barrier.arrive();
    barrier.leave();
  });
});
