import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExecutorClient } from "@halo/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordingIo } from "../test-io.js";
import { serveExecutor, serveOptionsFromFlags } from "./executor-command.js";

// `halo executor serve --engine llamacpp [--context-size T]` on the tiny synthesized model
// (real llama.cpp, one thread). The prototype's W6 stage-2 agents send prompts of about
// 2,550 tokens: past the 2,048-token default, inside the stand-ins' trained 4,096.
let haloHome: string;
const previousHome = process.env["HALO_HOME"];

beforeAll(async () => {
  haloHome = await mkdtemp(join(tmpdir(), "halo-context-size-"));
  process.env["HALO_HOME"] = haloHome;
});

afterAll(async () => {
  if (previousHome === undefined) delete process.env["HALO_HOME"];
  else process.env["HALO_HOME"] = previousHome;
  await rm(haloHome, { recursive: true, force: true });
});

const flags = {
  engine: "llamacpp",
  host: "127.0.0.1",
  port: "0",
  threads: "1",
  profile: "builtin:h100",
  timeScale: "1",
  batchWindowMs: "3",
  drainMs: "5000",
};

/** Sends one prompt of about 2,500 tokens; returns how its item ended. */
async function generateLongPrompt(
  contextSize: string | undefined,
): Promise<{ type: string; detail: string }> {
  const io = recordingIo();
  const stop = new AbortController();
  const serving = serveExecutor(
    serveOptionsFromFlags({ ...flags, ...(contextSize === undefined ? {} : { contextSize }) }),
    io,
    stop.signal,
  );
  try {
    await expect.poll(() => io.out(), { timeout: 60_000 }).toContain('"listening"');
    const { address } = JSON.parse(io.out().split("\n")[0]!) as { address: string };
    const client = createExecutorClient(address);
    // Rows of a report as a stage-2 brief carries them: numbers and names, many tokens each.
    const rows = Array.from({ length: 160 }, (_, index) => `nation ${index}: revenue ${index * 7919}.25;`);
    let outcome = { type: "none", detail: "" };
    for await (const event of client.generate({
      model: "halo/tiny",
      items: [{ id: "brief", prompt: rows.join(" "), maxTokens: 4 }],
    })) {
      if (event.type === "item-finished") outcome = { type: event.type, detail: event.finishReason };
      if (event.type === "item-failed")
        outcome = { type: event.type, detail: `${event.code}: ${event.message}` };
    }
    client.close();
    return outcome;
  } finally {
    stop.abort();
    await serving;
  }
}

describe("halo executor serve --context-size (llama.cpp)", () => {
  it("fails a prompt longer than the 2,048-token default with prompt-too-long", async () => {
    const outcome = await generateLongPrompt(undefined);
    expect(outcome.type).toBe("item-failed");
    expect(outcome.detail).toMatch(/^prompt-too-long: .*exceeds the context of 2048 tokens/);
  });

  it("serves the same prompt with --context-size 4096", async () => {
    expect(await generateLongPrompt("4096")).toEqual({ type: "item-finished", detail: "length" });
  });
});
