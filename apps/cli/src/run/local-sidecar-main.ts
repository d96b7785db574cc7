/**
 * Entry point of a local executor sidecar started by `halo run` (a child
 * process). Like `halo executor serve`, plus two things a child of `halo run`
 * needs: it exits when its parent dies (its stdin, a pipe from the parent,
 * closes — even when the parent was SIGKILLed), and the llama.cpp engine runs
 * without automatic prefix reuse, so an item's greedy output does not depend
 * on what its sequence decoded before (see `@halo/engine-llamacpp`).
 *
 * argv: --engine llamacpp|sim --threads N [--models map.yaml] [--context-size T] [--profile ref | --truth device [--noise σ --noise-seed n]]
 *       [--time-scale f] [--serve a,b]
 *       [--max-loaded-models N] [--batch-window-ms ms --max-collect-ms ms] [--openai-port P]
 */
import { parseArgs } from "node:util";
import { createExecutorServer, type EngineV1 } from "@halo/executor";
import { groundTruthDevice } from "@halo/profiles";
import { loadProfileReference } from "./profile-reference.js";

async function createEngine(values: Record<string, string | undefined>): Promise<EngineV1> {
  const threads = Number(values.threads ?? "1");
  // The models to serve (the workflow's, already checked by `halo run`).
  const serve = values.serve?.split(",").filter((name) => name.length > 0) ?? [];
  if (values.engine === "sim") {
    const { SimEngine } = await import("@halo/engine-sim");
    // A ground truth the planner never sees, or a profile replayed as the planner reads it.
    const costs =
      values.truth !== undefined
        ? {
            truth: groundTruthDevice(values.truth),
            noise: Number(values.noise ?? "0"),
            noiseSeed: Number(values["noise-seed"] ?? "0"),
          }
        : {
            // Names the profile lacks are derived from their parameter count.
            profile: await loadProfileReference(values.profile ?? "builtin:h100", "--profile", process.cwd()),
          };
    return new SimEngine({
      ...costs,
      timeScale: Number(values["time-scale"] ?? "0.01"),
      threads,
      ...(serve.length > 0 ? { models: Object.fromEntries(serve.map((name) => [name, name])) } : {}),
      ...(values["max-loaded-models"] === undefined
        ? {}
        : { maxLoadedModels: Number(values["max-loaded-models"]) }),
    });
  }
  const { LlamaCppEngine, loadModelMap, standInSource } = await import("@halo/engine-llamacpp");
  const loaded = values.models ? await loadModelMap(values.models) : undefined;
  // An executor serves only configured models: the workflow's names the map lacks are
  // configured here as their stand-ins (`halo run` synthesized them before starting us).
  const standIns = serve.flatMap((name) => {
    const source = loaded?.models.has(name) ? undefined : standInSource(name);
    return source ? [[name, source] as const] : [];
  });
  const modelMap =
    standIns.length > 0 ? { ...loaded, models: new Map([...(loaded?.models ?? []), ...standIns]) } : loaded;
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
      truth: { type: "string" },
      noise: { type: "string" },
      "noise-seed": { type: "string" },
      "time-scale": { type: "string" },
      serve: { type: "string" },
      "max-loaded-models": { type: "string" },
      "batch-window-ms": { type: "string" },
      "max-collect-ms": { type: "string" },
      "openai-port": { type: "string" },
    },
  });
  const engine = await createEngine(values);
  const server = await createExecutorServer({
    engine,
    // Also the OpenAI API on loopback (the bench's langgraph peer talks to it).
    ...(values["openai-port"] === undefined ? {} : { openai: { port: Number(values["openai-port"]) } }),
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
    `${JSON.stringify({ event: "listening", address: server.address, port: server.port, ...(server.openai ? { openai: `${server.openai.url}/v1` } : {}), engine: values.engine, pid: process.pid })}\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`local executor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
