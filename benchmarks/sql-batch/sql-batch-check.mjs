// Per SQL operator of W1: 200 calls alone against the same 200 calls through `doQueryBatch`
// (DuckDB in process), on the generated IMDb dataset; prints both times and how many calls got
// exactly their lone rows. Usage (after `pnpm build` and a `halo bench` run that generated the dataset):
//   node benchmarks/sql-batch/sql-batch-check.mjs $HALO_HOME/datasets/imdb-scale0.01-seed1-v1.duckdb
import { fileURLToPath } from "node:url";
import { loadWorkflowFile } from "@halo/ir";
import { createSqlTool } from "@halo/tool-sql";

const database = process.argv[2];
if (!database) {
  console.error("usage: sql-batch-check.mjs <imdb dataset .duckdb>");
  process.exit(2);
}
const loaded = await loadWorkflowFile(
  fileURLToPath(new URL("../workloads/w1-imdb-diamond.yaml", import.meta.url)),
);
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems ?? loaded));
const tool = createSqlTool(database, { inProcess: true });
const sample = {
  sql: "SELECT primary_title, genres FROM title_basics USING SAMPLE 200 ROWS (reservoir, 1)",
  parameters: {},
  parameterTypes: {},
};
const titles = (await tool.doQuery(sample)).rows;
const parameterValue = (name, title, index) => {
  if (name === "question")
    return index % 3 ? `Tell me about ${title.primary_title} please` : "Who directed something?";
  if (name === "title") return title.primary_title;
  if (name === "year") return 1980 + (index % 40);
  if (name === "genre") return String(title.genres ?? "Drama").split(",")[0];
  return "x";
};
for (const operator of loaded.workflow.operators.filter((each) => each.kind === "sql")) {
  const types = operator.parameterTypes;
  const requests = titles.map((title, index) => ({
    sql: operator.sql,
    parameters: Object.fromEntries(
      Object.keys(types).map((name) => [name, parameterValue(name, title, index)]),
    ),
    parameterTypes: types,
  }));
  let startedMs = performance.now();
  const alone = [];
  for (const request of requests) alone.push(JSON.stringify((await tool.doQuery(request)).rows));
  const aloneMs = performance.now() - startedMs;
  startedMs = performance.now();
  const batched = await tool.doQueryBatch(requests);
  const batchMs = performance.now() - startedMs;
  const equal = batched.filter(
    (outcome, index) => outcome.ok && JSON.stringify(outcome.result.rows) === alone[index],
  ).length;
  console.log(
    `${operator.id}: alone ${Math.round(aloneMs)} ms, batched ${Math.round(batchMs)} ms, ${equal}/${requests.length} equal`,
  );
}
await tool.close();
