// One LLM shard priced by the cost model from a measured profile, against the same requests run on
// engine-sim's hidden ground truth (H100, no noise, no sleeping): where the plans' estimates part from
// the runs. Usage (after `pnpm build`; the profile is the one `halo bench --engine sim` measured and cached):
//   node benchmarks/cost-model/shard-truth-check.mjs $HALO_HOME/profiles/sim-h100-<digest>.json
import { readFileSync } from "node:fs";
import { SimEngine } from "@halo/engine-sim";
import { NO_DISABLED_OPTIMIZATIONS } from "@halo/optimizer";
import { llmShardCost } from "@halo/optimizer/internal";
import { groundTruthDevice, parseDeviceProfile } from "@halo/profiles";

const path = process.argv[2];
if (!path) {
  console.error("usage: shard-truth-check.mjs <measured sim-h100 profile .json>");
  process.exit(2);
}
const profile = parseDeviceProfile(JSON.parse(readFileSync(path, "utf8")), path);
const words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split(" ");
for (const model of ["Qwen/Qwen3-14B", "Qwen/Qwen3-32B", "openai/gpt-oss-20b"]) {
  for (const [n, promptWords, maxTokens] of [
    [1000, 300, 60],
    [1000, 150, 200],
    [300, 600, 30],
  ]) {
    const engine = new SimEngine({
      truth: groundTruthDevice("h100"),
      timeScale: 0,
      noise: 0,
      maxLoadedModels: 1,
    });
    await engine.doLoadModel({ model });
    const items = Array.from({ length: n }, (_, i) => ({
      id: String(i),
      prompt: Array.from(
        { length: promptWords },
        (_, k) => words[(i * 7 + k) % words.length] + (k % 13 === 0 ? i : ""),
      ).join(" "),
      maxTokens,
    }));
    let figures;
    for await (const event of engine.doGenerate({ model, items }))
      if (event.type === "batch-finished") figures = event.figures;
    const promptTokens = figures.promptTokens / n;
    const generated = figures.generatedTokens / n;
    const stats = {
      instances: n,
      distinctRequests: n,
      sharedPrefixTokens: 0,
      prefixKey: "p",
      uniquePromptTokens: promptTokens,
      outputTokens: maxTokens,
    };
    const cost = llmShardCost(
      profile,
      profile.models[model],
      stats,
      n,
      { modelLoaded: true, prefixResident: false },
      0,
      NO_DISABLED_OPTIMIZATIONS,
    );
    const actual = figures.prefillMs + figures.decodeMs;
    console.log(
      model.padEnd(20),
      `n=${n} prompt=${promptTokens.toFixed(0)} out=${generated.toFixed(0)}/${maxTokens}`,
      `truth ${actual.toFixed(0)} ms (prefill ${figures.prefillMs.toFixed(0)}, decode ${figures.decodeMs.toFixed(0)})`,
      `plan ${cost.totalMs.toFixed(0)} ms (prefill ${cost.prefillMs.toFixed(0)}, decode ${cost.decodeMs.toFixed(0)}, batch ${cost.batchSize})`,
      `truth/plan ${(actual / cost.totalMs).toFixed(2)}`,
    );
    await engine.close();
  }
}
