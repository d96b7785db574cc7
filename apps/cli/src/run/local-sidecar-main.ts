/**
 * Entry point of a local executor sidecar started by `halo run` (a child
 * process). Like `halo executor serve`, plus two things a child of `halo run`
 * needs: it exits when its parent dies (its stdin, a pipe from the parent,
 * closes — even when the parent was SIGKILLed), and the llama.cpp engine runs
 * without automatic prefix reuse, so an item's greedy output does not depend
 * on what its sequence decoded before (see `@halo/engine-llamacpp`).
 *
 * argv: --engine llamacpp|sim --threads N [--models map.yaml] [--context-size T] [--profile ref] [--time-scale f] [--serve a,b]
 *       [--max-loaded-models N] [--batch-window-ms ms --max-collect-ms ms]
 */
import { parseArgs } from "node:util";
import { createExecutorServer, type EngineV1 } from "@halo/executor";
import { loadProfileReference } from "./profile-reference.js";

async function createEngine(values: Record<string, string | undefined>): Promise<EngineV1> {
  const threads = Number(values.threads ?? "1");
  if (values.engine === "sim") {
    const { SimEngine } = await import("@halo/engine-sim");
    // The models to serve (the workflow's): names the profile lacks are derived from their parameter count.
    const serve = values.serve?.split(",").filter((name) => name.length > 0) ?? [];
    return new SimEngine({
      profile: await loadProfileReference(values.profile ?? "builtin:h100", "--profile", process.cwd()),
      timeScale: Number(values["time-scale"] ?? "0.01"),
      threads,
      ...(serve.length > 0 ? { models: Object.fromEntries(serve.map((name) => [name, name])) } : {}),
      ...(values["max-loaded-models"] === undefined
        ? {}
        : { maxLoadedModels: Number(values["max-loaded-models"]) }),
    });
  }
  const { LlamaCppEngine, loadModelMap } = await import("@halo/engine-llamacpp");
  const modelMap = values.models ? await loadModelMap(values.models) : undefined;
  return new LlamaCppEngine({
    threads,
    automaticPrefixReuse: false,
    ...(modelMap ? { modelMap } : {}),
    ...(values["context-size"] === undefined ? {} : { contextSize: Number(values["context-size"]) }),
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      engine: { type: "string" },
      threads: { type: "string" },
      models: { type: "string" },
      "context-size": { type: "string" },
      profile: { type: "string" },
      "time-scale": { type: "string" },
      serve: { type: "string" },
      "max-loaded-models": { type: "string" },
      "batch-window-ms": { type: "string" },
      "max-collect-ms": { type: "string" },
    },
  });
  const engine = await createEngine(values);
  const server = await createExecutorServer({
    engine,
    ...(values["batch-window-ms"] === undefined
      ? {}
      : {
          batching: {
            windowMs: Number(values["batch-window-ms"]),
            maxCollectMs: Number(values["max-collect-ms"] ?? values["batch-window-ms"]),
          },
        }),
  });
  let stopping = false;
  const stop = (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    // A short drain: the parent only stops sidecars when it no longer needs their answers.
    server
      .close(2_000)
      .catch(() => undefined)
      .finally(() => process.exit(exitCode));
  };
  process.on("SIGTERM", () => stop(0));
  process.on("SIGINT", () => stop(0));
  process.stdin.on("end", () => stop(0));
  process.stdin.on("error", () => stop(0));
  process.stdin.resume();
  process.stdout.write(
    `${JSON.stringify({ event: "listening", address: server.address, port: server.port, engine: values.engine, pid: process.pid })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`local executor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
