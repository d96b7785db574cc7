import { describe, expect, it } from "vitest";
import { parseSidecarArguments, sidecarArguments } from "./sidecar-arguments.js";

describe("sidecar arguments", () => {
  it("round-trips the options through the command line", () => {
    const options = {
      threads: 2,
      contextSize: 4096,
      maxSequences: 8,
      automaticPrefixReuse: false,
      memoryBudgetBytes: 1e9,
    };
    expect(parseSidecarArguments(sidecarArguments(options))).toEqual(options);
    const withoutBudget = { threads: 1, contextSize: 512, maxSequences: 1, automaticPrefixReuse: true };
    expect(parseSidecarArguments(sidecarArguments(withoutBudget))).toEqual(withoutBudget);
  });

  it("names an unknown, missing or bad argument", () => {
    expect(() => parseSidecarArguments(["--threads=1", "--bogus=2"])).toThrow(/sidecar: .*bogus/);
    expect(() => parseSidecarArguments(["--context-size=512", "--max-sequences=1"])).toThrow(
      "sidecar: --threads must be a positive integer (got undefined)",
    );
    expect(() => parseSidecarArguments(["--threads=0", "--context-size=512", "--max-sequences=1"])).toThrow(
      /--threads must be a positive integer \(got 0\)/,
    );
    expect(() => parseSidecarArguments(["stray"])).toThrow(/sidecar: /);
  });
});
