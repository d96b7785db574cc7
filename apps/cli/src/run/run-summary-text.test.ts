import { describe, expect, it } from "vitest";
import { formatDeviations } from "./run-summary-text.js";

describe("formatDeviations", () => {
  it("prints stolen and off-split items and the loads by reason against the plan's", () => {
    const line = formatDeviations({
      stolen: { batches: 3, items: 1200 },
      modelLoads: { planned: 2, preload: 4, unplanned: 1 },
      plannedModelLoads: 6,
      preloads: { planned: 0, done: 4 },
      items: { run: 10500, planned: 10000 },
      offSplitItems: 1500,
    });
    expect(line).toBe(
      "  off plan: 1,200 items stolen in 3 calls, 1,500 of 10,500 items off their planned split (plan 10,000); " +
        "loads 2 planned + 4 preloads + 1 unplanned (plan 6, of which 0 preloads)",
    );
  });
});
