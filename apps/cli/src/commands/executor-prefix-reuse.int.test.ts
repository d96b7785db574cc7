import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createExecutorClient } from "@halo/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordingIo } from "../test-io.js";
import { serveExecutor, serveOptionsFromFlags } from "./executor-command.js";

// `halo executor serve --engine llamacpp` on the tiny synthesized model (real llama.cpp, one thread).
let haloHome: string;
const previousHome = process.env["HALO_HOME"];

beforeAll(async () => {
  haloHome = await mkdtemp(join(tmpdir(), "halo-prefix-reuse-"));
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

/** Cached prompt tokens of a call whose prompt extends the one before it. */
async function cachedTokensOfSecondCall(automaticPrefixReuse: boolean): Promise<number> {
  const io = recordingIo();
  const stop = new AbortController();
  const serving = serveExecutor(
    serveOptionsFromFlags({ ...flags, ...(automaticPrefixReuse ? { automaticPrefixReuse } : {}) }),
    io,
    stop.signal,
  );
  try {
    await expect.poll(() => io.out(), { timeout: 60_000 }).toContain('"listening"');
    const { address } = JSON.parse(io.out().split("\n")[0]!) as { address: string };
    const client = createExecutorClient(address);
    const prompt = "The quick brown fox jumps over the lazy dog near the river bank. ".repeat(4);
    let cached = -1;
    for (const text of [prompt, `${prompt}Then it rests.`]) {
      for await (const event of client.generate({
        model: "halo/tiny",
        items: [{ id: "a", prompt: text, maxTokens: 2 }],
      })) {
        if (event.type === "batch-finished") cached = event.figures.cachedTokens;
      }
    }
    client.close();
    return cached;
  } finally {
    stop.abort();
    await serving;
  }
}

describe("halo executor serve --automatic-prefix-reuse (llama.cpp)", () => {
  it("is off by default and on when given", () => {
    expect(serveOptionsFromFlags(flags).automaticPrefixReuse).toBe(false);
    expect(serveOptionsFromFlags({ ...flags, automaticPrefixReuse: true }).automaticPrefixReuse).toBe(true);
  });

  it("off: a call reuses nothing an earlier call left in the engine's sequences", async () => {
    expect(await cachedTokensOfSecondCall(false)).toBe(0);
  });

  it("on: a call reuses the start of its prompt that an earlier call left in a sequence", async () => {
    expect(await cachedTokensOfSecondCall(true)).toBeGreaterThan(10);
  });
});
