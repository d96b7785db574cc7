import { describe, expect, it } from "vitest";
import {
  defaultExecutorBenchmarkConfig,
  type ExecutorBenchmarkResults,
  median,
} from "./executor-benchmark.js";
import {
  readmeSectionEnd,
  readmeSectionStart,
  renderExecutorSection,
  spliceReadmeSection,
} from "./executor-report.js";

const results: ExecutorBenchmarkResults = {
  date: "2025-11-26T01:00:00.000Z",
  command: "pnpm --filter @halo/benchmarks bench:executor",
  machine: {
    cpus: 2,
    cpuModel: "Test CPU",
    totalMemoryBytes: 24 * 1024 ** 3,
    node: "v20.0.0",
    platform: "linux-x64",
  },
  config: defaultExecutorBenchmarkConfig,
  batching: {
    rows: [
      {
        batchSize: 8,
        batchedTokensPerSecond: 300,
        sequentialTokensPerSecond: 150,
        speedup: 2,
        generatedTokens: 256,
        batchedSamples: [300],
        sequentialSamples: [150],
      },
    ],
    target: "batched ≥ 1.5× sequential tokens/s at batch 8",
    met: true,
  },
  prefixSharing: {
    prompts: 64,
    prefixTokens: 512,
    withSharingMs: 1000,
    withoutSharingMs: 9000,
    speedup: 9,
    prefilledTokensWithSharing: 1600,
    prefilledTokensWithoutSharing: 34000,
    withSamples: [1000],
    withoutSamples: [9000],
    target: "≥ 4× faster with prefix sharing",
    met: true,
  },
  migration: {
    rows: [
      {
        contextTokens: 512,
        kvBytes: 2_400_000,
        migrateMs: 20,
        afterMigrateMs: 10,
        reprefillMs: 300,
        speedup: 10,
        sameOutput: true,
      },
    ],
    target: "migration ≥ 5× faster than re-prefill at 512 tokens",
    met: false,
  },
  modelSwitch: {
    rows: [
      {
        model: "Qwen/Qwen3-32B",
        parameterCount: 32_646_528,
        weightsBytes: 34_686_936,
        loadMs: 55.5,
        samples: [55.5],
      },
    ],
  },
};

describe("renderExecutorSection", () => {
  it("renders every measurement with its verdict between the markers", () => {
    const section = renderExecutorSection(results);
    expect(section.startsWith(readmeSectionStart)).toBe(true);
    expect(section.trimEnd().endsWith(readmeSectionEnd)).toBe(true);
    expect(section).toContain("| 8 | 300.0 | 150.0 | 2.00× |");
    expect(section).toContain("| with sharing | 1000 | 1600 |");
    expect(section).toContain("| 512 | 2400000 | 20.0 | 10.0 | 300.0 | 10.00× | yes |");
    expect(section).toContain("| Qwen/Qwen3-32B | 32.65M | 34.7 | 55.5 |");
    expect(section).toContain("migration ≥ 5× faster than re-prefill at 512 tokens: **missed**");
    expect(section).toContain("2 × Test CPU, 24 GiB");
  });
});

describe("spliceReadmeSection", () => {
  it("appends the section once, then replaces it in place", () => {
    const first = spliceReadmeSection("# Halo benchmarks\n\nIntro.\n", "SECTION-1\n");
    expect(first).toBe("# Halo benchmarks\n\nIntro.\n\nSECTION-1\n");
    const withMarkers = `# B\n\n${readmeSectionStart}\nold\n${readmeSectionEnd}\n\n## Other\n`;
    expect(spliceReadmeSection(withMarkers, `${readmeSectionStart}\nnew\n${readmeSectionEnd}\n`)).toBe(
      `# B\n\n${readmeSectionStart}\nnew\n${readmeSectionEnd}\n\n## Other\n`,
    );
  });
});

describe("median", () => {
  it("takes the middle sample", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
