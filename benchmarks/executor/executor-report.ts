import { readFile, writeFile } from "node:fs/promises";
import type { ExecutorBenchmarkResults } from "./executor-benchmark.js";

export const readmeSectionStart = "<!-- executor-benchmark:start -->";
export const readmeSectionEnd = "<!-- executor-benchmark:end -->";

function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function verdict(met: boolean): string {
  return met ? "met" : "**missed**";
}

/** The markdown section of `benchmarks/README.md` for one run. */
export function renderExecutorSection(results: ExecutorBenchmarkResults): string {
  const { machine, config } = results;
  const lines: string[] = [
    readmeSectionStart,
    "## Executor (`benchmarks/executor/`)",
    "",
    `Command: \`${results.command}\` — ${results.date.slice(0, 10)}, ${machine.cpus} × ${machine.cpuModel}, ` +
      `${fixed(machine.totalMemoryBytes / 1024 ** 3, 0)} GiB, Node ${machine.node}. ` +
      `Model \`${config.model}\` (synthesized stand-in), ${config.threads} llama.cpp thread per sidecar, ` +
      `sidecars are separate processes over gRPC on 127.0.0.1. Medians of ${config.repeats} repeats; ` +
      "ratios compare measurements of the same run. Raw samples: `results/executor.json`.",
    "",
    `### Batching — ${results.batching.target}: ${verdict(results.batching.met)}`,
    "",
    `Generated tokens/s, ${config.batchMaxTokens} tokens per sequence (greedy), one Generate call with the whole batch vs one call per sequence.`,
    "",
    "| batch | batched tok/s | one after another tok/s | speedup |",
    "|---:|---:|---:|---:|",
    ...results.batching.rows.map(
      (row) =>
        `| ${row.batchSize} | ${fixed(row.batchedTokensPerSecond)} | ${fixed(row.sequentialTokensPerSecond)} | ${fixed(row.speedup, 2)}× |`,
    ),
    "",
    `### Prefix sharing — ${results.prefixSharing.target}: ${verdict(results.prefixSharing.met)}`,
    "",
    `${results.prefixSharing.prompts} prompts sharing a ${results.prefixSharing.prefixTokens}-token prefix, ${config.prefixMaxTokens} generated tokens each.`,
    "",
    "| | wall ms | prompt tokens prefilled |",
    "|---|---:|---:|",
    `| with sharing | ${fixed(results.prefixSharing.withSharingMs, 0)} | ${results.prefixSharing.prefilledTokensWithSharing} |`,
    `| without | ${fixed(results.prefixSharing.withoutSharingMs, 0)} | ${results.prefixSharing.prefilledTokensWithoutSharing} |`,
    `| speedup | ${fixed(results.prefixSharing.speedup, 2)}× | |`,
    "",
    `### KV migration — ${results.migration.target}: ${verdict(results.migration.met)}`,
    "",
    "Sidecar A holds a context's KV; B needs it. Migration = ExportKv on A streamed into ImportKv on B, then one token on B; " +
      "re-prefill = one token on B evaluating the context itself. Speedup = re-prefill ÷ (migrate + first token).",
    "",
    "| context tokens | KV bytes | migrate ms | first token after ms | re-prefill ms | speedup | same output |",
    "|---:|---:|---:|---:|---:|---:|:---:|",
    ...results.migration.rows.map(
      (row) =>
        `| ${row.contextTokens} | ${row.kvBytes} | ${fixed(row.migrateMs)} | ${fixed(row.afterMigrateMs)} | ${fixed(row.reprefillMs)} | ${fixed(row.speedup, 2)}× | ${row.sameOutput ? "yes" : "no"} |`,
    ),
    "",
    "### Model switch",
    "",
    "LoadModel time reported by the engine while another model was loaded (and unloaded to fit the budget); weights read from the page cache, not memory-mapped.",
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
