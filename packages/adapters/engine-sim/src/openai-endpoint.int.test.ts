import { createExecutorServer, type EngineV1, type ExecutorServerHandle, prefixKeyOf } from "@halo/executor";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { createExecutorClient, type ExecutorClient, type ExecutorEvent } from "@halo/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { SimEngine } from "./sim-engine.js";

// The executor's OpenAI endpoint over the simulated engine, on real HTTP and gRPC (127.0.0.1:0).
// It lives here because @halo/executor's own tests cannot depend on an engine package.
const MODEL = "Qwen/Qwen3-14B";
const SYSTEM = "You are a careful assistant. Answer in one short sentence and never invent facts.";

interface StreamChoice {
  readonly delta: { readonly content?: string; readonly role?: string };
  readonly finish_reason: string | null;
}

const started: { server: ExecutorServerHandle; client: ExecutorClient }[] = [];

async function startSidecar(
  openai: { bearerToken?: string } = {},
  timeScale = 0.001,
  wrap: (engine: EngineV1) => EngineV1 = (engine) => engine,
) {
  const engine = new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale });
  const server = await createExecutorServer({
    engine: wrap(engine),
    openai,
    batching: { windowMs: 20, maxCollectMs: 200 },
  });
  const client = createExecutorClient(server.address);
  started.push({ server, client });
  return { server, client, base: `${server.openai!.url}/v1` };
}

afterEach(async () => {
  for (const { server, client } of started.splice(0)) {
    client.close();
    await server.close(1_000);
  }
});

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) };
}

function chat(content: string, extra: Record<string, unknown> = {}) {
  return {
    model: MODEL,
    messages: [
      { role: "system", content: SYSTEM },
      { role: "user", content },
    ],
    max_tokens: 8,
    temperature: 0,
    ...extra,
  };
}

describe("the executor's OpenAI endpoint", () => {
  it("lists the engine's models and answers a chat completion in the OpenAI wire format", async () => {
    const { base } = await startSidecar();
    const models = (await (await fetch(`${base}/models`)).json()) as {
      object: string;
      data: { id: string }[];
    };
    expect(models.object).toBe("list");
    expect(models.data.map((model) => model.id)).toContain(MODEL);
    const one = await fetch(`${base}/models/${encodeURIComponent(MODEL)}`);
    expect(((await one.json()) as { id: string }).id).toBe(MODEL);

    const response = await post(`${base}/chat/completions`, chat("What is the capital of France?"));
    expect(response.status).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ object: "chat.completion", model: MODEL });
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.choices).toHaveLength(1);
    expect(body.choices[0].message.role).toBe("assistant");
    expect(typeof body.choices[0].message.content).toBe("string");
    expect(["stop", "length"]).toContain(body.choices[0].finish_reason);
    expect(body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeGreaterThanOrEqual(1);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(8);
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(body.usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it("answers what a gRPC Generate call with the same prefix and suffix answers, and shares its cached prefix", async () => {
    const { base, client } = await startSidecar();
    const first = (await post(`${base}/chat/completions`, chat("Name a prime number."))).json();
    // The system message is the shared prefix: a second request with it reports cached tokens.
    const second = (await post(`${base}/chat/completions`, chat("Who wrote Hamlet?"))).json();
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(second.usage.prompt_tokens_details.cached_tokens).toBeGreaterThan(0);
    // The same prompt over gRPC, with the prefix key @halo/ir gives it: same text, prefix already cached.
    const prefix = `### System\n${SYSTEM}\n\n### User\n`;
    const events: ExecutorEvent[] = [];
    for await (const event of client.generate({
      model: MODEL,
      sharedPrefix: { key: prefixKeyOf(MODEL, prefix), text: prefix },
      items: [{ id: "a", prompt: "Who wrote Hamlet?\n\n### Assistant\n", maxTokens: 8, seed: 3 }],
    }))
      events.push(event);
    const finished = events.find((event) => event.type === "item-finished");
    expect(finished?.type === "item-finished" && finished.text).toBe(second.choices[0].message.content);
    const batch = events.at(-1);
    expect(batch?.type === "batch-finished" && batch.figures.prefixPrefilledTokens).toBe(0);
  });

  it("streams SSE chunks that concatenate to the answer, with usage, ending with [DONE]", async () => {
    const { base } = await startSidecar();
    const plain = (await post(`${base}/chat/completions`, chat("How many legs does a spider have?"))).json();
    const streamed = await post(
      `${base}/chat/completions`,
      chat("How many legs does a spider have?", { stream: true, stream_options: { include_usage: true } }),
    );
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("content-type")).toContain("text/event-stream");
    const lines = streamed.text.split("\n\n").filter((line) => line !== "");
    expect(lines.at(-1)).toBe("data: [DONE]");
    const chunks = lines.slice(0, -1).map((line) => {
      expect(line.startsWith("data: ")).toBe(true);
      return JSON.parse(line.slice("data: ".length));
    });
    for (const chunk of chunks) expect(chunk.object).toBe("chat.completion.chunk");
    expect(chunks[0].choices[0].delta.role).toBe("assistant");
    const text = chunks
      .flatMap((chunk) => chunk.choices.map((choice: StreamChoice) => choice.delta.content ?? ""))
      .join("");
    expect(text).toBe(plain.choices[0].message.content);
    const finishes = chunks.flatMap((chunk) =>
      chunk.choices.filter((choice: StreamChoice) => choice.finish_reason),
    );
    expect(finishes).toHaveLength(1);
    expect(finishes[0].finish_reason).toBe(plain.choices[0].finish_reason);
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.completion_tokens).toBe(plain.usage.completion_tokens);
  });

  it("follows json_schema and json_object response formats", async () => {
    const { base } = await startSidecar();
    const schema = {
      type: "object",
      properties: { answer: { type: "string", maxLength: 12 }, valid: { type: "boolean" } },
      required: ["answer", "valid"],
      additionalProperties: false,
    };
    const structured = (
      await post(
        `${base}/chat/completions`,
        chat("Is Paris the capital of France?", {
          max_completion_tokens: 96,
          response_format: { type: "json_schema", json_schema: { name: "verdict", schema, strict: true } },
        }),
      )
    ).json();
    const parsed = JSON.parse(structured.choices[0].message.content);
    expect(Object.keys(parsed).sort()).toEqual(["answer", "valid"]);
    expect(typeof parsed.valid).toBe("boolean");
    const object = (
      await post(
        `${base}/chat/completions`,
        chat("Reply in JSON.", { max_tokens: 64, response_format: { type: "json_object" } }),
      )
    ).json();
    const value = JSON.parse(object.choices[0].message.content);
    expect(typeof value === "object" && value !== null && !Array.isArray(value)).toBe(true);
    // json_object with a `schema` (llama-server's and vLLM's form) enforces that schema.
    const withSchema = (
      await post(
        `${base}/chat/completions`,
        chat("Is Paris the capital of France?", {
          max_tokens: 96,
          response_format: { type: "json_object", schema },
        }),
      )
    ).json();
    const verdict = JSON.parse(withSchema.choices[0].message.content);
    expect(Object.keys(verdict).sort()).toEqual(["answer", "valid"]);
    expect(typeof verdict.valid).toBe("boolean");
  });

  it("serves text completions", async () => {
    const { base } = await startSidecar();
    const body = (
      await post(`${base}/completions`, { model: MODEL, prompt: "Once upon a time", max_tokens: 5 })
    ).json();
    expect(body.object).toBe("text_completion");
    expect(typeof body.choices[0].text).toBe("string");
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(5);
  });

  it("merges concurrent HTTP requests into engine batches with gRPC calls", async () => {
    // The engine's first batch waits until the eight other calls are queued (events, not
    // timing), as a busy engine would make them wait; then they must merge.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { base, client, server } = await startSidecar({}, 0.001, (engine) => ({
      ...engine,
      specificationVersion: engine.specificationVersion,
      engineName: engine.engineName,
      doInfo: () => engine.doInfo(),
      doLoadModel: (options) => engine.doLoadModel(options),
      async *doGenerate(options) {
        await gate;
        yield* engine.doGenerate(options);
      },
      doExportKv: (options) => engine.doExportKv(options),
      doImportKv: (options) => engine.doImportKv(options),
      doDropKv: (options) => engine.doDropKv(options),
      doStats: () => engine.doStats(),
      close: () => engine.close(),
    }));
    const before = await client.stats();
    const requests = Array.from({ length: 8 }, (_, index) =>
      post(`${base}/chat/completions`, chat(`Question number ${index}?`, { max_tokens: 16 })),
    );
    const grpc = (async () => {
      for await (const _ of client.generate({
        model: MODEL,
        sharedPrefix: {
          key: prefixKeyOf(MODEL, `### System\n${SYSTEM}\n\n### User\n`),
          text: `### System\n${SYSTEM}\n\n### User\n`,
        },
        items: [{ id: "grpc", prompt: "And over gRPC?\n\n### Assistant\n", maxTokens: 16 }],
      })) {
        // drain
      }
    })();
    await expect.poll(() => server.stats().queuedCalls, { timeout: 30_000 }).toBe(8);
    release();
    const responses = await Promise.all(requests);
    await grpc;
    for (const response of responses) expect(response.status).toBe(200);
    const after = (await client.stats()).sidecar!;
    const calls = after.generateCalls - before.sidecar!.generateCalls;
    const batches = after.engineBatches - before.sidecar!.engineBatches;
    expect(calls).toBe(9);
    // The first call ran alone; the eight queued behind it (one model, one prefix) merged.
    expect(batches).toBe(2);
    expect(after.mergedBatches).toBeGreaterThan(before.sidecar!.mergedBatches);
  });

  it("rejects bad bodies with 400 and OpenAI-style errors naming the parameter, unknown models with 404", async () => {
    const { base } = await startSidecar();
    const cases: [unknown, number, string | null][] = [
      ["{not json", 400, null],
      [[1, 2], 400, null],
      [{ messages: [{ role: "user", content: "hi" }] }, 400, "model"],
      [{ model: "no/such-model", messages: [{ role: "user", content: "hi" }] }, 404, "model"],
      [{ model: MODEL, messages: [] }, 400, "messages"],
      [{ model: MODEL, messages: [{ role: "wizard", content: "hi" }] }, 400, "messages[0].role"],
      [
        { model: MODEL, messages: [{ role: "user", content: [{ type: "image_url" }] }] },
        400,
        "messages[0].content",
      ],
      [chat("hi", { max_tokens: 0 }), 400, "max_tokens"],
      [chat("hi", { max_completion_tokens: 10_000_000 }), 400, "max_completion_tokens"],
      [chat("hi", { temperature: -1 }), 400, "temperature"],
      [chat("hi", { n: 2 }), 400, "n"],
      [chat("hi", { stop: ["\n"] }), 400, "stop"],
      [chat("hi", { response_format: { type: "xml" } }), 400, "response_format.type"],
      [
        chat("hi", { response_format: { type: "json_schema", json_schema: {} } }),
        400,
        "response_format.json_schema.schema",
      ],
      [
        chat("hi", { response_format: { type: "json_schema", json_schema: { schema: "nope" } } }),
        400,
        "response_format.json_schema.schema",
      ],
      [
        chat("hi", { response_format: { type: "json_object", schema: "nope" } }),
        400,
        "response_format.schema",
      ],
      [chat("word ".repeat(50_000)), 400, "messages"],
    ];
    for (const [body, status, param] of cases) {
      const response = await post(`${base}/chat/completions`, body);
      expect(response.status, `${JSON.stringify(body).slice(-120)} → ${response.text}`).toBe(status);
      const error = response.json().error;
      expect(typeof error.message).toBe("string");
      expect(error.type).toBe("invalid_request_error");
      expect(error.param).toBe(param);
    }
    const unknown = await fetch(`${base}/embeddings`, { method: "POST", body: "{}" });
    expect(unknown.status).toBe(404);
    expect((await fetch(`${base}/models/no-such`)).status).toBe(404);
    // Still serving after all of that.
    expect((await post(`${base}/chat/completions`, chat("Still there?"))).status).toBe(200);
  });

  it("cancels the item of a client that goes away mid-stream, and keeps serving", async () => {
    // A slow clock, so the stream is still running when the client leaves.
    const { base, server } = await startSidecar({}, 0.5);
    const controller = new AbortController();
    const response = await fetch(`${base}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat("Tell a long story.", { stream: true, max_tokens: 400 })),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("chat.completion.chunk");
    controller.abort();
    await expect.poll(() => server.stats().queuedCalls, { timeout: 10_000 }).toBe(0);
    const after = await post(`${base}/chat/completions`, chat("Still there?", { max_tokens: 4 }));
    expect(after.status).toBe(200);
  });

  it("requires the bearer token when one is set", async () => {
    const { base } = await startSidecar({ bearerToken: "s3cret-token" });
    const missing = await post(`${base}/chat/completions`, chat("hi"));
    expect(missing.status).toBe(401);
    expect(missing.json().error.code).toBe("invalid_api_key");
    expect((await fetch(`${base}/models`)).status).toBe(401);
    const wrong = await post(`${base}/chat/completions`, chat("hi"), {
      authorization: "Bearer s3cret-tokem",
    });
    expect(wrong.status).toBe(401);
    const right = await post(`${base}/chat/completions`, chat("hi"), {
      authorization: "Bearer s3cret-token",
    });
    expect(right.status).toBe(200);
  });
});
