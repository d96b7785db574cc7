import {
  createExecutorServer,
  EngineError,
  type EngineV1,
  type ExecutorServerHandle,
  type GenerateOptions,
} from "@halo/executor";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import {
  createExecutorClient,
  type ExecutorCallError,
  type ExecutorClient,
  type ExecutorEvent,
  type GenerateInput,
  GrpcStatus,
} from "@halo/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { SimEngine, type SimEngineOptions } from "./sim-engine.js";

// The executor sidecar over the simulated engine, on real gRPC (127.0.0.1:0).
const MODEL = "Qwen/Qwen3-14B";
const KV_BYTES_PER_TOKEN = H100_SIMULATED_PROFILE.models[MODEL]!.kvBytesPerToken;

const started: { server: ExecutorServerHandle; client: ExecutorClient }[] = [];

async function startSidecar(
  engineOptions: Partial<SimEngineOptions> = {},
  serverOptions: { kvBudgetBytes?: number; wrap?: (engine: EngineV1) => EngineV1 } = {},
) {
  const sim = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001, ...engineOptions });
  const engine = serverOptions.wrap ? serverOptions.wrap(sim) : sim;
  const server = await createExecutorServer({ engine, kvBudgetBytes: serverOptions.kvBudgetBytes });
  const client = createExecutorClient(server.address);
  started.push({ server, client });
  return { server, client, sim };
}

afterEach(async () => {
  for (const { server, client } of started.splice(0)) {
    client.close();
    await server.close(1_000);
  }
});

async function run(client: ExecutorClient, input: GenerateInput) {
  const events: ExecutorEvent[] = [];
  for await (const event of client.generate(input)) events.push(event);
  const last = events.at(-1);
  if (last?.type !== "batch-finished") throw new Error("the call did not end with batch-finished");
  const texts = new Map<string, string>();
  const failures = new Map<string, { code: string; message: string }>();
  const queueMs = new Map<string, number>();
  for (const event of events) {
    if (event.type === "item-finished") {
      texts.set(event.itemId, event.text);
      queueMs.set(event.itemId, event.figures.queueMs);
    }
    if (event.type === "item-failed") failures.set(event.itemId, event);
  }
  return { events, figures: last.figures, texts, failures, queueMs };
}

async function callError(action: () => Promise<unknown>): Promise<ExecutorCallError> {
  const error = await action().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!error) throw new Error("expected the call to fail");
  return error as ExecutorCallError;
}

/** The H100 profile with a 10 ms load, so that tests can run at a slow time scale without waiting for loads. */
const FAST_LOAD_PROFILE = {
  ...H100_SIMULATED_PROFILE,
  models: { [MODEL]: { ...H100_SIMULATED_PROFILE.models[MODEL]!, loadMs: 10 } },
};

/**
 * Starts a long call and resolves once it runs: calls sent meanwhile queue
 * behind it and merge. Its length comes from a ~12,000-token prompt (about
 * 0.36 s of wall time to prefill at time scale 0.5), not from the pseudo-text,
 * whose length varies with the prompt.
 */
async function startBlocker(client: ExecutorClient) {
  await client.loadModel(MODEL);
  const events = client.generate({
    model: MODEL,
    items: [
      {
        id: "blocker",
        prompt: "Question 99: which region ships the most parts? ".repeat(1000),
        maxTokens: 48,
      },
    ],
    streamTokens: true,
  });
  const iterator = events[Symbol.asyncIterator]();
  await iterator.next();
  return {
    async finish() {
      while (!(await iterator.next()).done) {
        // Drain the blocker's remaining events.
      }
    },
  };
}

const question = (index: number) => `Question ${index}: which region ships the most parts?`;
const single = (id: string, prompt: string, maxTokens = 8) => ({ id, prompt, maxTokens });

describe("executor sidecar over engine-sim", () => {
  it("merges concurrent Generate calls into fewer engine batches and reports queue time", async () => {
    const { client, server } = await startSidecar({ profile: FAST_LOAD_PROFILE, timeScale: 0.5 });
    const blocker = await startBlocker(client);
    const calls = Array.from({ length: 8 }, (_, index) =>
      run(client, { model: MODEL, items: [single(`q${index}`, question(index))] }),
    );
    const results = await Promise.all(calls);
    await blocker.finish();
    const stats = server.stats();
    expect(stats.generateCalls).toBe(9);
    expect(stats.engineBatches).toBeLessThan(9);
    expect(stats.mergedBatches).toBeGreaterThanOrEqual(1);
    expect(Math.max(...results.map((result) => result.figures.largestBatchSize))).toBeGreaterThan(1);
    for (const result of results) {
      // Each call waited behind the blocker; the call's figure covers its items.
      expect(result.figures.queueMs).toBeGreaterThan(0);
      expect(result.figures.queueMs).toBeGreaterThanOrEqual(Math.max(...result.queueMs.values()));
      expect(result.figures.engineBatches).toBe(1);
      expect(result.figures.wallMs).toBeGreaterThanOrEqual(result.figures.queueMs);
    }
    // Merging changes nothing in greedy output.
    const alone = await run(client, { model: MODEL, items: [single("q3", question(3))] });
    expect(results[3]!.texts.get("q3")).toBe(alone.texts.get("q3"));
  });

  it("keeps calls with different shared prefixes apart for an engine without mixedPrefixes", async () => {
    const onePrefixPerBatch = (engine: EngineV1): EngineV1 => ({
      specificationVersion: "v1",
      engineName: engine.engineName,
      doInfo: async () => ({ ...(await engine.doInfo()), mixedPrefixes: false }),
      doLoadModel: (options) => engine.doLoadModel(options),
      doGenerate: (options) => engine.doGenerate(options),
      doExportKv: (options) => engine.doExportKv(options),
      doImportKv: (options) => engine.doImportKv(options),
      doDropKv: (options) => engine.doDropKv(options),
      doStats: () => engine.doStats(),
      close: () => engine.close(),
    });
    const { client, server } = await startSidecar(
      { profile: FAST_LOAD_PROFILE, timeScale: 0.5 },
      { wrap: onePrefixPerBatch },
    );
    const blocker = await startBlocker(client);
    const results = await Promise.all(
      ["a", "b", "a", "b"].map((prefix, index) =>
        run(client, {
          model: MODEL,
          sharedPrefix: { key: `prefix-${prefix}`, text: `Instructions ${prefix}. `.repeat(20) },
          items: [single(`q${index}`, question(index))],
        }),
      ),
    );
    await blocker.finish();
    // Behind the blocker: one batch per prefix, never one with both.
    expect(server.stats().engineBatches).toBe(3);
    expect(Math.max(...results.map((result) => result.figures.largestBatchSize))).toBe(2);
    const stats = await client.stats();
    expect(stats.kvEntries.map((entry) => entry.key).sort()).toEqual(["prefix-a", "prefix-b"]);
  });

  it("merges calls with different shared prefixes into one batch, each prefix prefilled once", async () => {
    const { client, server } = await startSidecar({ profile: FAST_LOAD_PROFILE, timeScale: 0.5 });
    const blocker = await startBlocker(client);
    const prefixOf = (name: string) => ({ key: `prefix-${name}`, text: `Instructions ${name}. `.repeat(20) });
    const results = await Promise.all(
      ["a", "b", "a", "b"].map((prefix, index) =>
        run(client, {
          model: MODEL,
          sharedPrefix: prefixOf(prefix),
          items: [single(`q${index}`, question(index))],
        }),
      ),
    );
    await blocker.finish();
    expect(server.stats().engineBatches).toBe(2);
    expect(Math.max(...results.map((result) => result.figures.largestBatchSize))).toBe(4);
    const prefilled = results.reduce((total, result) => total + result.figures.prefixPrefilledTokens, 0);
    // Every call reports its batch's prefill: two distinct prefixes, prefilled once, seen by four calls.
    expect(prefilled).toBe(4 * 2 * Math.ceil(prefixOf("a").text.length / 4));
    const stats = await client.stats();
    expect(stats.kvEntries.map((entry) => entry.key).sort()).toEqual(["prefix-a", "prefix-b"]);
    // Each answer is the one the call gets alone.
    const alone = await run(client, {
      model: MODEL,
      sharedPrefix: prefixOf("b"),
      items: [single("q1", question(1))],
    });
    expect(results[1]!.texts.get("q1")).toBe(alone.texts.get("q1"));
    expect(alone.figures.cachedTokens).toBeGreaterThan(0);
  });

  it("evicts the least recently used prefix under a small KV budget", async () => {
    const prefixText = (name: string) => `${name}: `.padEnd(400, "x");
    const prefixTokens = Math.ceil(400 / 4);
    // Room for two prefixes, not three.
    const { client, server } = await startSidecar(
      {},
      { kvBudgetBytes: 2.5 * prefixTokens * KV_BYTES_PER_TOKEN },
    );
    const use = (name: string) =>
      run(client, {
        model: MODEL,
        sharedPrefix: { key: name, text: prefixText(name) },
        items: [single("q", "Go on.")],
      });
    await use("a");
    await use("b");
    await use("a");
    await use("c");
    const keys = (await client.stats()).kvEntries.map((entry) => entry.key).sort();
    expect(keys).toEqual(["a", "c"]);
    expect(server.stats().kvEvictions).toBe(1);
    expect((await client.stats()).sidecar?.kvEvictions).toBe(1);
    // The evicted prefix is prefilled again; a kept one is served from cache.
    expect((await use("b")).figures.prefixPrefilledTokens).toBe(prefixTokens);
    expect((await use("b")).figures.prefixPrefilledTokens).toBe(0);
  });

  it("answers every bad input with the right status and keeps serving", async () => {
    const { client } = await startSidecar();
    const fine = { model: MODEL, items: [single("ok", "Hello.")] };
    const cases: [string, () => Promise<unknown>, GrpcStatus, string][] = [
      [
        "unknown model",
        () => run(client, { ...fine, model: "no/such-7B" }),
        GrpcStatus.NOT_FOUND,
        "no/such-7B",
      ],
      [
        "no items",
        () => run(client, { ...fine, items: [] }),
        GrpcStatus.INVALID_ARGUMENT,
        "at least one item",
      ],
      [
        "duplicate ids",
        () => run(client, { ...fine, items: [single("x", "a"), single("x", "b")] }),
        GrpcStatus.INVALID_ARGUMENT,
        'item 1 ("x"): duplicate item id',
      ],
      [
        "max tokens 0",
        () => run(client, { ...fine, items: [single("z", "a", 0)] }),
        GrpcStatus.INVALID_ARGUMENT,
        'item 0 ("z"): max_tokens',
      ],
      [
        "max tokens over the context",
        () => run(client, { ...fine, items: [single("big", "a", 40_000)] }),
        GrpcStatus.INVALID_ARGUMENT,
        `context length 32768 of model "${MODEL}"`,
      ],
      [
        "top_p out of range",
        () => run(client, { ...fine, items: [{ ...single("p", "a"), topP: 2 }] }),
        GrpcStatus.INVALID_ARGUMENT,
        "top_p",
      ],
      [
        "shared prefix longer than the context",
        () => run(client, { ...fine, sharedPrefix: { key: "huge", text: "word ".repeat(30_000) } }),
        GrpcStatus.INVALID_ARGUMENT,
        'shared prefix "huge"',
      ],
      ["load of an unknown model", () => client.loadModel("no/such-7B"), GrpcStatus.NOT_FOUND, "no/such-7B"],
      [
        "export of an absent key",
        () => client.exportKv("absent")[Symbol.asyncIterator]().next(),
        GrpcStatus.NOT_FOUND,
        '"absent"',
      ],
      [
        "import of corrupted bytes",
        () =>
          client.importKv("k", MODEL, [
            new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]),
          ]),
        GrpcStatus.DATA_LOSS,
        "bad magic",
      ],
      [
        "import for an unknown model",
        () => client.importKv("k", "no/such-7B", []),
        GrpcStatus.NOT_FOUND,
        "no/such-7B",
      ],
      [
        "import without a key",
        () => client.importKv("", MODEL, []),
        GrpcStatus.INVALID_ARGUMENT,
        "key and model",
      ],
      ["drop without a key", () => client.dropKv(""), GrpcStatus.INVALID_ARGUMENT, "key is required"],
    ];
    for (const [name, action, status, mention] of cases) {
      const error = await callError(action);
      expect(error.code, name).toBe(status);
      expect(error.message, name).toContain(mention);
      // The executor still serves the next call.
      expect((await run(client, fine)).texts.has("ok"), name).toBe(true);
    }
    expect((await callError(() => run(client, { ...fine, model: "no/such-7B" }))).errorCode).toBe(
      "unknown-model",
    );
  });

  it("fails only the bad items of a call, with their codes", async () => {
    const { client } = await startSidecar();
    const result = await run(client, {
      model: MODEL,
      items: [
        single("long", "word ".repeat(30_000)),
        { ...single("schema", "Answer."), jsonSchema: "{oops" },
        single("ok", "Hello."),
      ],
    });
    expect(result.failures.get("long")).toMatchObject({ code: "prompt-too-long" });
    expect(result.failures.get("long")?.message).toContain('item "long"');
    expect(result.failures.get("schema")).toMatchObject({ code: "invalid-json-schema" });
    expect(result.texts.has("ok")).toBe(true);
    expect(result.figures.items).toBe(3);
  });

  it("splits a batch over the engine's token limit and fails only an item that fits in no batch", async () => {
    const { client } = await startSidecar({ maxBatchTokens: 400 });
    const result = await run(client, {
      model: MODEL,
      items: [single("small-1", "Hi."), single("huge", "x".repeat(2_000)), single("small-2", "Yo.")],
    });
    expect(result.failures.get("huge")).toMatchObject({ code: "over-limits" });
    expect([...result.texts.keys()].sort()).toEqual(["small-1", "small-2"]);
  });

  it("isolates a merged call that makes the engine reject the whole batch", async () => {
    // An engine that throws for a batch containing a poisoned prompt (as an engine
    // without per-item failures would): only the poisoned call may fail.
    const wrap = (engine: EngineV1): EngineV1 => ({
      ...engine,
      specificationVersion: "v1",
      engineName: engine.engineName,
      doInfo: () => engine.doInfo(),
      doLoadModel: (options) => engine.doLoadModel(options),
      doExportKv: (options) => engine.doExportKv(options),
      doImportKv: (options) => engine.doImportKv(options),
      doDropKv: (options) => engine.doDropKv(options),
      doStats: () => engine.doStats(),
      close: () => engine.close(),
      doGenerate(options: GenerateOptions) {
        const poisoned = options.items.find((item) => item.prompt.includes("POISON"));
        if (poisoned) {
          return (async function* () {
            yield* [];
            throw new EngineError("invalid-json-schema", `item "${poisoned.id}": rejected`);
          })();
        }
        return engine.doGenerate(options);
      },
    });
    const { client, server } = await startSidecar({ profile: FAST_LOAD_PROFILE, timeScale: 0.5 }, { wrap });
    const blocker = await startBlocker(client);
    const outcomes = await Promise.allSettled([
      run(client, { model: MODEL, items: [single("a", question(2))] }),
      run(client, { model: MODEL, items: [single("bad", "POISON")] }),
      run(client, { model: MODEL, items: [single("b", question(3))] }),
    ]);
    await blocker.finish();
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const error = (outcomes[1] as PromiseRejectedResult).reason as ExecutorCallError;
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.message).toContain('item "bad"');
    expect(server.stats().mergedBatches).toBeGreaterThanOrEqual(1);
  });

  it("refuses to reuse a prefix key for another text", async () => {
    const { client } = await startSidecar();
    await run(client, {
      model: MODEL,
      sharedPrefix: { key: "k", text: "One text." },
      items: [single("a", "Hi.")],
    });
    const error = await callError(() =>
      run(client, {
        model: MODEL,
        sharedPrefix: { key: "k", text: "Another text." },
        items: [single("a", "Hi.")],
      }),
    );
    expect(error.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.message).toContain('shared prefix key "k"');
  });

  it("migrates a cached prefix from one executor to another", async () => {
    const source = await startSidecar();
    const target = await startSidecar();
    const sharedPrefix = { key: "migrating", text: "You answer questions about suppliers. ".repeat(10) };
    const input = { model: MODEL, sharedPrefix, items: [single("q", "Which supplier?")] };
    const original = await run(source.client, input);
    await target.client.loadModel(MODEL);
    const response = await target.client.importKv("migrating", MODEL, source.client.exportKv("migrating"));
    expect(response.entry).toMatchObject({
      key: "migrating",
      model: MODEL,
      tokens: original.figures.prefixPrefilledTokens,
    });
    const migrated = await run(target.client, input);
    expect(migrated.figures.prefixPrefilledTokens).toBe(0);
    expect(migrated.figures.cachedTokens).toBe(original.figures.prefixPrefilledTokens);
    expect(migrated.texts.get("q")).toBe(original.texts.get("q"));
  });

  it("drains running work on close and refuses new calls", async () => {
    const { client, server } = await startSidecar({ profile: FAST_LOAD_PROFILE, timeScale: 0.05 });
    await client.loadModel(MODEL);
    // Close only once the call runs (its first token arrived): a fixed sleep races the connection.
    const events = client.generate({
      model: MODEL,
      items: [{ id: "long", prompt: `${question(1)} `.repeat(200), maxTokens: 64 }],
      streamTokens: true,
    });
    const iterator = events[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    const closing = server.close(10_000);
    let finished = first.value?.type === "item-finished";
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      if (next.value.type === "item-finished" && next.value.itemId === "long") finished = true;
    expect(finished).toBe(true);
    await closing;
    const error = await callError(() => client.info({ deadlineMs: 500 }));
    expect(error.code).toBe(GrpcStatus.UNAVAILABLE);
  });

  it("reports health, info and stats", async () => {
    const { client } = await startSidecar({}, { kvBudgetBytes: 1_000_000 });
    await expect(client.health()).resolves.toBe("serving");
    await expect(client.health("halo.executor.v1.Executor")).resolves.toBe("serving");
    const info = await client.info();
    expect(info).toMatchObject({ engine: "sim", kvBudgetBytes: 1_000_000, maxSequences: 256 });
    expect(info.models.map((model) => model.name)).toContain(MODEL);
    await run(client, { model: MODEL, items: [single("a", "Hi.")] });
    const stats = await client.stats();
    expect(stats.loadedModels).toEqual([MODEL]);
    expect(stats.generatedTokens).toBeGreaterThan(0);
    expect(stats.sidecar).toMatchObject({ generateCalls: 1, engineBatches: 1, queuedCalls: 0 });
  });
});
