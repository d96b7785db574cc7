import { LlamaCppEngine } from "@halo/engine-llamacpp";
import { SimEngine } from "@halo/engine-sim";
import { createExecutorServer, type ExecutorServerHandle, type GenerateEvent } from "@halo/executor";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import { createExecutorClient } from "@halo/protocol";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OpenAiEngine } from "./openai-engine.js";

// Third-party clients against the executor's OpenAI endpoint over real HTTP on 127.0.0.1:
// the `openai` package (the reference client), and engine-openai against a real llama.cpp
// executor, whose answers must equal what the same executor gives over gRPC.
describe("the `openai` package against an engine-sim executor", () => {
  let server: ExecutorServerHandle;
  let client: OpenAI;

  beforeAll(async () => {
    server = await createExecutorServer({
      engine: new SimEngine({ profile: H100_SIMULATED_PROFILE, timeScale: 0.001 }),
      openai: { bearerToken: "client-token" },
    });
    client = new OpenAI({ baseURL: `${server.openai!.url}/v1`, apiKey: "client-token", maxRetries: 0 });
  });
  afterAll(async () => {
    await server?.close(1_000);
  });

  it("lists models, completes, streams and parses structured output", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toContain("Qwen/Qwen3-14B");

    const messages = [
      { role: "system" as const, content: "You are terse." },
      { role: "user" as const, content: "Name a colour." },
    ];
    const completion = await client.chat.completions.create({
      model: "Qwen/Qwen3-14B",
      messages,
      max_completion_tokens: 8,
      temperature: 0,
      seed: 1,
    });
    expect(completion.choices[0]!.message.content?.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);

    const stream = await client.chat.completions.create({
      model: "Qwen/Qwen3-14B",
      messages,
      max_completion_tokens: 8,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(completion.choices[0]!.message.content);
    expect(usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0);

    const structured = await client.chat.completions.create({
      model: "Qwen/Qwen3-14B",
      messages,
      max_completion_tokens: 64,
      temperature: 0,
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "colour",
          strict: true,
          schema: {
            type: "object",
            properties: { colour: { type: "string", maxLength: 10 } },
            required: ["colour"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(Object.keys(JSON.parse(structured.choices[0]!.message.content!))).toEqual(["colour"]);
  });

  it("surfaces 404 and 400 as the client's typed errors", async () => {
    await expect(
      client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      client.chat.completions.create({
        model: "Qwen/Qwen3-14B",
        messages: [{ role: "user", content: "x" }],
        max_tokens: 0,
      }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    const unauthorized = new OpenAI({ baseURL: `${server.openai!.url}/v1`, apiKey: "wrong", maxRetries: 0 });
    await expect(unauthorized.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});

describe("engine-openai against a llama.cpp executor's OpenAI endpoint", () => {
  let server: ExecutorServerHandle;

  beforeAll(async () => {
    server = await createExecutorServer({
      engine: new LlamaCppEngine({
        threads: 1,
        maxSequences: 4,
        contextSize: 512,
        automaticPrefixReuse: false,
      }),
      openai: {},
    });
  }, 300_000);
  afterAll(async () => {
    await server?.close(5_000);
  });

  it("answers over HTTP what the same executor answers over gRPC, and shares its cached prefix", async () => {
    const model = "halo/tiny";
    const prefix = "### System\nYou answer questions about databases. Keep answers short.\n\n### User\n";
    const questions = ["How many orders are there?", "Which customer spent the most?", "What is an index?"];
    const items = questions.map((question, index) => ({
      id: `q${index}`,
      prompt: `${question}\n\n### Assistant\n`,
      maxTokens: 8,
      temperature: 0,
      topP: 1,
      seed: 1,
    }));
    const engine = new OpenAiEngine({
      servers: { llama: { baseURL: `${server.openai!.url}/v1` } },
      models: { [model]: { servers: ["llama"] } },
    });
    const http: GenerateEvent[] = [];
    for await (const event of engine.doGenerate({ model, sharedPrefix: { key: "p", text: prefix }, items }))
      http.push(event);
    const grpcClient = createExecutorClient(server.address);
    const grpc = new Map<string, string>();
    try {
      for await (const event of grpcClient.generate({
        model,
        sharedPrefix: { key: "db-prefix", text: prefix },
        items,
      })) {
        if (event.type === "item-finished") grpc.set(event.itemId, event.text);
      }
    } finally {
      grpcClient.close();
    }
    const finished = http.filter((event) => event.type === "item-finished");
    expect(finished).toHaveLength(3);
    for (const event of finished) {
      if (event.type !== "item-finished") continue;
      expect(event.text).toBe(grpc.get(event.itemId));
      expect(event.figures.generatedTokens).toBeGreaterThan(0);
    }
    // Prefix warming: the first request prefilled the system prompt, the others found it cached.
    const cached = finished.map((event) => (event.type === "item-finished" ? event.figures.cachedTokens : 0));
    expect(cached.filter((tokens) => tokens > 0).length).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
