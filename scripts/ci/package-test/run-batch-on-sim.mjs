// (b) Run a small batch with @halo/runtime against an @halo/engine-sim executor started here (gRPC on loopback).
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer } from "@halo/executor";
import { loadWorkflowFile } from "@halo/ir";
import { planBatch } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { MemoryResultSink, Processor } from "@halo/runtime";

const loaded = await loadWorkflowFile(new URL("./workflow.yaml", import.meta.url).pathname);
if (!loaded.ok) throw new Error("workflow does not load");
const workflow = loaded.workflow;
const server = await createExecutorServer({
  engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
});
try {
  const queries = Array.from({ length: 8 }, (_, index) => ({
    id: `q${index}`,
    context: { question: `question ${index}` },
  }));
  const { plan } = await planBatch({
    workflow,
    queries,
    workers: [{ id: "sim0", profile: H100_SIMULATED_PROFILE, address: server.address }],
  });
  const processor = new Processor({ workflow, plan, executors: [server.address], tools: {} });
  const sink = new MemoryResultSink();
  const summary = await processor.run(queries, { sink });
  console.log(
    `ran ${summary.queries.total} queries: ${summary.queries.ok} ok, ${summary.queries.failed} failed`,
  );
  if (summary.queries.ok !== queries.length || sink.records.length !== queries.length)
    throw new Error(`batch did not complete: ${JSON.stringify(summary.queries)}`);
  for (const record of sink.records)
    if (typeof record.outputs?.critique !== "string")
      throw new Error(`no critique: ${JSON.stringify(record)}`);
} finally {
  await server.close(100);
}
