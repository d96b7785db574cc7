import { createInterface } from "node:readline";
import { LlamaCppEngine, type ModelSource, standInSource } from "@halo/engine-llamacpp";
import { createExecutorServer } from "@halo/executor";
import { parseSidecarArguments } from "./sidecar-arguments.js";

// A benchmark sidecar process: an executor serving a LlamaCppEngine on 127.0.0.1:0.
// It prints one JSON line with its address, then serves until SIGTERM or stdin closes.
// A "cpu" line on stdin is answered with the process's CPU time so far, so the
// benchmark can count the work done apart from time spent waiting for a shared CPU.
const options = parseSidecarArguments(process.argv.slice(2));
// The executor serves only configured models: the benchmark's other names as their stand-ins.
const standIns = new Map<string, ModelSource>();
for (const name of options.models ?? []) {
  const source = standInSource(name);
  if (source) standIns.set(name, source);
}
const server = await createExecutorServer({
  engine: new LlamaCppEngine({
    ...(standIns.size > 0 ? { modelMap: { models: standIns } } : {}),
    threads: options.threads,
    contextSize: options.contextSize,
    maxSequences: options.maxSequences,
    automaticPrefixReuse: options.automaticPrefixReuse,
    ...(options.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: options.memoryBudgetBytes }),
  }),
});
process.stdout.write(`${JSON.stringify({ address: server.address, pid: process.pid })}\n`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  // A decode already running finishes its llama.cpp call first; do not wait forever.
  setTimeout(() => process.exit(1), 20_000).unref();
  await server.close(5_000);
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
const requests = createInterface({ input: process.stdin });
requests.on("line", (line) => {
  if (line.trim() !== "cpu") return;
  const usage = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuMs: (usage.user + usage.system) / 1000 })}\n`);
});
requests.on("close", () => void stop());
