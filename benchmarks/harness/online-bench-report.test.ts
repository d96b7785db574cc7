import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { OnlineBenchResult } from "./online-bench.js";
import { renderOnlineReport } from "./online-bench-report.js";

const committed = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "results", "online", "online-w2.json"), "utf8"),
) as OnlineBenchResult;

describe("renderOnlineReport", () => {
  it("summarizes each workload's sustainable rates and ratios against naive's best", () => {
    const markdown = renderOnlineReport([committed]);
    const summary = markdown.split("\n").find((line) => line.startsWith("| W2 "));
    expect(summary).toBeDefined();
    const halo = committed.systems.find((system) => system.system === "halo")!;
    expect(summary).toContain(`| ${halo.sustainableRate}/s |`);
    expect(summary).toContain(`${committed.ratios!.halo!.toFixed(2)}×`);
  });

  it("shows the model loads of a step when the result has them, a dash when it predates them", () => {
    const [first, ...rest] = committed.systems;
    const [step, second, ...steps] = first!.rates;
    // The second step as a result from before the count would have it (no modelLoads field).
    const { modelLoads: _dropped, ...older } = second!;
    const withLoads: OnlineBenchResult = {
      ...committed,
      systems: [{ ...first!, rates: [{ ...step!, modelLoads: 7 }, older, ...steps] }, ...rest],
    };
    const rows = renderOnlineReport([withLoads])
      .split("\n")
      .filter((line) => line.startsWith(`| ${first!.system} | `));
    const columns = (line: string) =>
      line
        .split("|")
        .slice(1, -1)
        .map((cell) => cell.trim());
    const header = renderOnlineReport([withLoads])
      .split("\n")
      .find((line) => line.startsWith("| system |"))!;
    const loadsColumn = columns(header).indexOf("model loads");
    expect(loadsColumn).toBeGreaterThan(0);
    expect(columns(rows[0]!)[loadsColumn]).toBe("7");
    expect(columns(rows[1]!)[loadsColumn]).toBe("—");
    expect(columns(rows[0]!)).toHaveLength(columns(header).length);
  });
});
