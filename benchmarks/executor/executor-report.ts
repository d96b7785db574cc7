import { readFile, writeFile } from "node:fs/promises";
import type { ExecutorBenchmarkResults, TargetVerdict } from "./executor-benchmark.js";

export const readmeSectionStart = "<!-- executor-benchmark:start -->";
export const readmeSectionEnd = "<!-- executor-benchmark:end -->";

function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function verdict(result: TargetVerdict): string {
  const word = (met: boolean) => (met ? "met" : "**missed**");
  return `${result.target}: ${word(result.met)} on wall-clock time, ${word(result.metOnCpuTime)} on CPU time`;
}

/** The markdown section of `benchmarks/README.md` for one run. */
export function renderExecutorSection(results: ExecutorBenchmarkResults): string {
  const { machine, config } = results;
  const prefix = results.prefixSharing;
  const lines: string[] = [
    readmeSectionStart,
    "## Executor (`benchmarks/executor/`)",
    "",
    `Command: \`${results.command}\` — ${results.date.slice(0, 10)}, ${machine.cpus} × ${machine.cpuModel}, ` +
      `${fixed(machine.totalMemoryBytes / 1024 ** 3, 0)} GiB, Node ${machine.node}, load average ${fixed(machine.loadAverage)} at the start. ` +
      `Model \`${config.model}\` (synthesized stand-in, q8_0), ${config.threads} llama.cpp thread per sidecar; ` +
      "sidecars are separate processes serving gRPC on 127.0.0.1. " +
      `Medians of ${config.repeats} repeats; ratios compare measurements of the same run. ` +
      "Wall-clock figures include waiting for CPUs that other work on the machine holds; CPU-time figures " +
      "(the sidecar processes' own CPU time) do not. Raw samples: `results/executor.json`. " +
      "Why the figures are what they are (profiles): `packages/adapters/engine-llamacpp/README.md`, section Performance.",
    "",
    "### Batching",
    "",
    `${verdict(results.batching)}. Generated tokens, ${config.batchMaxTokens} per sequence (greedy), ` +
      "one Generate call with the whole batch vs one call per sequence.",
    "",
    "| batch | batched tok/s | one after another tok/s | speedup | batched tok/CPU-s | one after another tok/CPU-s | CPU speedup |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...results.batching.rows.map(
      (row) =>
        `| ${row.batchSize} | ${fixed(row.batchedTokensPerSecond)} | ${fixed(row.sequentialTokensPerSecond)} | ${fixed(row.speedup, 2)}× ` +
        `| ${fixed(row.batchedTokensPerCpuSecond)} | ${fixed(row.sequentialTokensPerCpuSecond)} | ${fixed(row.cpuSpeedup, 2)}× |`,
    ),
    "",
    "### Prefix sharing",
    "",
    `${verdict(prefix)}. ${prefix.prompts} prompts sharing a ${prefix.prefixTokens}-token prefix, ` +
      `${config.prefixMaxTokens} generated tokens each, one Generate call (the sidecar splits it into batches of ${config.maxSequences}).`,
    "",
    "| | wall ms | CPU ms | prompt tokens prefilled |",
    "|---|---:|---:|---:|",
    `| with sharing | ${fixed(prefix.withSharingMs, 0)} | ${fixed(prefix.withSharingCpuMs, 0)} | ${prefix.prefilledTokensWithSharing} |`,
    `| without | ${fixed(prefix.withoutSharingMs, 0)} | ${fixed(prefix.withoutSharingCpuMs, 0)} | ${prefix.prefilledTokensWithoutSharing} |`,
    `| speedup | ${fixed(prefix.speedup, 2)}× | ${fixed(prefix.cpuSpeedup, 2)}× | |`,
    "",
    "### KV migration",
    "",
    `${verdict(results.migration)}. Sidecar A holds a context's KV and B needs it. Migrate = ExportKv on A streamed ` +
      "into ImportKv on B. Context prefill = what B spends prefilling the context itself: a one-token Generate " +
      "with a fresh prefix key minus the same Generate on the migrated KV. Speedup = context prefill ÷ migrate; " +
      "end to end = re-prefill ÷ (migrate + first token after it).",
    "",
    "| context tokens | KV bytes | migrate ms | context prefill ms | speedup | first token after migrate ms | re-prefill ms | end to end | migrate CPU ms | prefill CPU ms | CPU speedup | same output |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ...results.migration.rows.map(
      (row) =>
        `| ${row.contextTokens} | ${row.kvBytes} | ${fixed(row.migrateMs)} | ${fixed(row.contextPrefillMs)} | ${fixed(row.speedup, 2)}× ` +
        `| ${fixed(row.afterMigrateMs)} | ${fixed(row.reprefillMs)} | ${fixed(row.endToEndSpeedup, 2)}× ` +
        `| ${fixed(row.migrateCpuMs)} | ${fixed(row.contextPrefillCpuMs)} | ${fixed(row.cpuSpeedup, 2)}× | ${row.sameOutput ? "yes" : "no"} |`,
    ),
    "",
    "### Model switch",
    "",
    "LoadModel time reported by the engine while another model was loaded (and unloaded to fit the budget); " +
      "the weights are read from the page cache (not memory-mapped) and a context for all sequences is created.",
    "",
    "| model | parameters | weights MB | load ms |",
    "|---|---:|---:|---:|",
    ...results.modelSwitch.rows.map(
      (row) =>
        `| ${row.model} | ${fixed(row.parameterCount / 1e6, 2)}M | ${fixed(row.weightsBytes / 1e6)} | ${fixed(row.loadMs)} |`,
    ),
    readmeSectionEnd,
  ];
  return `${lines.join("\n")}\n`;
}

/** Replaces the executor section of a README (or appends it when there is none). */
export function spliceReadmeSection(readme: string, section: string): string {
  const start = readme.indexOf(readmeSectionStart);
  const end = readme.indexOf(readmeSectionEnd);
  if (start >= 0 && end > start) {
    const afterEnd = readme.indexOf("\n", end);
    return readme.slice(0, start) + section + (afterEnd >= 0 ? readme.slice(afterEnd + 1) : "");
  }
  return `${readme.replace(/\n*$/, "\n\n")}${section}`;
}

/** Writes `results/executor.json` and the README section. */
export async function writeExecutorReport(
  results: ExecutorBenchmarkResults,
  paths: { readonly resultsJson: string; readonly readme: string },
): Promise<void> {
  await writeFile(paths.resultsJson, `${JSON.stringify(results, null, 2)}\n`);
  const readme = await readFile(paths.readme, "utf8").catch(() => "# Halo benchmarks\n");
  await writeFile(paths.readme, spliceReadmeSection(readme, renderExecutorSection(results)));
}
