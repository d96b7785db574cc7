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
    loadAverage: 3.5,
  },
  config: defaultExecutorBenchmarkConfig,
  batching: {
    rows: [
      {
        batchSize: 8,
        batchedTokensPerSecond: 300,
        sequentialTokensPerSecond: 150,
        speedup: 2,
        batchedTokensPerCpuSecond: 320,
        sequentialTokensPerCpuSecond: 200,
        cpuSpeedup: 1.6,
        generatedTokens: 256,
        batchedSamples: [{ wallMs: 853, cpuMs: 800 }],
        sequentialSamples: [{ wallMs: 1707, cpuMs: 1280 }],
      },
    ],
    target: "batched ≥ 1.5× sequential tokens/s at batch 8",
    met: true,
    metOnCpuTime: true,
  },
  prefixSharing: {
    prompts: 64,
    prefixTokens: 512,
    withSharingMs: 1000,
    withoutSharingMs: 9000,
    speedup: 9,
    withSharingCpuMs: 900,
    withoutSharingCpuMs: 8100,
    cpuSpeedup: 9,
    prefilledTokensWithSharing: 1600,
    prefilledTokensWithoutSharing: 34000,
    withSamples: [{ wallMs: 1000, cpuMs: 900 }],
    withoutSamples: [{ wallMs: 9000, cpuMs: 8100 }],
    target: "≥ 4× faster with prefix sharing",
    met: true,
    metOnCpuTime: true,
  },
  migration: {
    rows: [
      {
        contextTokens: 512,
        kvBytes: 2_400_000,
        migrateMs: 20,
        afterMigrateMs: 10,
        reprefillMs: 300,
        contextPrefillMs: 290,
        speedup: 14.5,
        endToEndSpeedup: 10,
        migrateCpuMs: 15,
        contextPrefillCpuMs: 270,
        cpuSpeedup: 18,
        sameOutput: true,
      },
    ],
    target: "export + import ≥ 5× faster than re-prefilling at 512 tokens",
    met: false,
    metOnCpuTime: true,
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
    expect(section).toContain("| 8 | 300.0 | 150.0 | 2.00× | 320.0 | 200.0 | 1.60× |");
    expect(section).toContain("| with sharing | 1000 | 900 | 1600 |");
    expect(section).toContain(
      "| 512 | 2400000 | 20.0 | 290.0 | 14.50× | 10.0 | 300.0 | 10.00× | 15.0 | 270.0 | 18.00× | yes |",
    );
    expect(section).toContain("| Qwen/Qwen3-32B | 32.65M | 34.7 | 55.5 |");
    expect(section).toContain(
      "export + import ≥ 5× faster than re-prefilling at 512 tokens: **missed** on wall-clock time, met on CPU time",
    );
    expect(section).toContain("2 × Test CPU, 24 GiB, Node v20.0.0, load average 3.5");
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
