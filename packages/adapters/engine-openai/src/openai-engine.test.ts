import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { GenerateEvent } from "@halo/executor";
import { afterEach, describe, expect, it } from "vitest";
import { OpenAiEngine, type OpenAiEngineOptions } from "./openai-engine.js";
import { OpenAiModelMapError, openAiModelMapFrom } from "./openai-model-map.js";
import { retryAfter } from "./openai-server-client.js";

// A scripted OpenAI-compatible server on 127.0.0.1:0 that misbehaves on purpose (429, 503,
// dropped connections): the failure modes real servers show, which no healthy server produces.
type Handler = (body: Record<string, unknown>, response: ServerResponse, request: IncomingMessage) => void;

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function scriptedServer(handler: Handler) {
  const log: { path: string; body: Record<string, unknown>; at: number; authorization?: string }[] = [];
  let inFlight = 0;
  let peak = 0;
  const server = createServer(async (request, response) => {
    let text = "";
    for await (const chunk of request) text += chunk;
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    log.push({ path: request.url ?? "", body, at: Date.now(), authorization: request.headers.authorization });
    if (request.url === "/v1/models") {
      response.end(JSON.stringify({ object: "list", data: [{ id: "m", max_model_len: 2048 }] }));
      return;
    }
    inFlight++;
    peak = Math.max(peak, inFlight);
    response.on("close", () => inFlight--);
    handler(body, response, request);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { baseURL: `http://127.0.0.1:${port}/v1`, log, peak: () => peak };
}

function completion(text: string, usage = { prompt_tokens: 10, completion_tokens: 3 }) {
  return JSON.stringify({
    id: "x",
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { ...usage, prompt_tokens_details: { cached_tokens: 4 } },
  });
}

function engine(baseURL: string, overrides: Partial<OpenAiEngineOptions> = {}, server = {}) {
  return new OpenAiEngine({
    servers: { s: { baseURL, stream: false, apiKey: "k", ...server } },
    models: { m: { servers: ["s"] } },
    retry: { baseDelayMs: 5, maxDelayMs: 2_000 },
    ...overrides,
  });
}

async function run(target: OpenAiEngine, prompts: string[], model = "m") {
  const events: GenerateEvent[] = [];
  for await (const event of target.doGenerate({
    model,
    items: prompts.map((prompt, index) => ({
      id: `i${index}`,
      prompt,
      maxTokens: 8,
      temperature: 0,
      topP: 1,
      seed: 1,
    })),
  }))
    events.push(event);
  return events;
}

describe("OpenAiEngine against a scripted server", () => {
  it("retries 429 after the Retry-After the server asks for, and 5xx with backoff, then succeeds", async () => {
    let calls = 0;
    const { baseURL, log } = await scriptedServer((_body, response) => {
      calls++;
      if (calls === 1) {
        response.writeHead(429, { "retry-after": "0.3" }).end('{"error":{"message":"slow down"}}');
      } else if (calls === 2) {
        response.writeHead(503).end("busy");
      } else response.end(completion("hello"));
    });
    const events = await run(engine(baseURL), ["### User\nHi\n\n### Assistant\n"]);
    const finished = events.find((event) => event.type === "item-finished");
    expect(finished).toMatchObject({
      text: "hello",
      figures: { promptTokens: 10, cachedTokens: 4, generatedTokens: 3 },
    });
    const posts = log.filter((entry) => entry.path === "/v1/chat/completions");
    expect(posts).toHaveLength(3);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(290);
    expect(posts[0]!.authorization).toBe("Bearer k");
    // The neutral prompt text became chat messages.
    expect(posts[0]!.body.messages).toEqual([{ role: "user", content: "Hi" }]);
    expect(posts[0]!.body).toMatchObject({ model: "m", max_tokens: 8, temperature: 0, seed: 1 });
  });

  it("fails only the item after the last attempt, naming it, the server and the status", async () => {
    const { baseURL } = await scriptedServer((body, response) => {
      const content = JSON.stringify(body.messages);
      if (content.includes("bad")) response.writeHead(500).end('{"error":{"message":"boom"}}');
      else response.end(completion("fine"));
    });
    const events = await run(engine(baseURL, { retry: { maxAttempts: 2, baseDelayMs: 1 } }), ["good", "bad"]);
    const failed = events.find((event) => event.type === "item-failed");
    expect(failed).toMatchObject({ itemId: "i1", code: "internal" });
    expect(failed?.type === "item-failed" && failed.message).toMatch(/i1.*"s".*HTTP 500.*boom.*2 attempts/);
    expect(events.some((event) => event.type === "item-finished" && event.itemId === "i0")).toBe(true);
    expect(events.at(-1)?.type).toBe("batch-finished");
  });

  it("does not retry a 400, and maps context-length errors to prompt-too-long", async () => {
    const { baseURL, log } = await scriptedServer((_body, response) => {
      response
        .writeHead(400)
        .end('{"error":{"message":"This model\'s maximum context length is 2048 tokens","code":null}}');
    });
    const events = await run(engine(baseURL), ["x"]);
    expect(events[0]).toMatchObject({ type: "item-failed", code: "prompt-too-long" });
    expect(log.filter((entry) => entry.path === "/v1/chat/completions")).toHaveLength(1);
  });

  it("keeps at most maxConcurrency requests in flight per server", async () => {
    // Responses are held until two requests are open (or none can come): a broken limit
    // would show as more than two open at once, whatever the machine's speed.
    const held: ServerResponse[] = [];
    let received = 0;
    const scripted = await scriptedServer((_body, response) => {
      received++;
      held.push(response);
      if (held.length >= 2 || received === 6) for (const open of held.splice(0)) open.end(completion("ok"));
    });
    const events = await run(engine(scripted.baseURL, {}, { maxConcurrency: 2 }), [
      "a",
      "b",
      "c",
      "d",
      "e",
      "f",
    ]);
    expect(events.filter((event) => event.type === "item-finished")).toHaveLength(6);
    expect(scripted.peak()).toBe(2);
  });

  it("sends one item of a shared prefix first and the rest after its first token", async () => {
    // Event order, not timing: the leader's stream stays open until both followers arrived
    // (they must come after its first token and before its end); a fallback ends it late.
    const order: string[] = [];
    let followersArrived: () => void = () => {};
    const followers = new Promise<void>((resolve) => {
      followersArrived = resolve;
    });
    let posts = 0;
    const scripted = await scriptedServer((_body, response) => {
      const index = posts++;
      order.push(index === 0 ? "leader-request" : "follower-request");
      if (posts === 3) followersArrived();
      response.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: Record<string, unknown>, finish: string | null) =>
        `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      response.write(chunk({ content: "to" }, null));
      if (index === 0) order.push("leader-first-token");
      const finish = () => {
        if (index === 0) order.push("leader-end");
        response.write(chunk({ content: "ken" }, null));
        response.write(chunk({}, "length"));
        response.end(
          `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 2 } })}\n\ndata: [DONE]\n\n`,
        );
      };
      if (index === 0)
        void Promise.race([followers, new Promise((resolve) => setTimeout(resolve, 10_000))]).then(finish);
      else finish();
    });
    const target = engine(scripted.baseURL, {}, { stream: true });
    const events: GenerateEvent[] = [];
    for await (const event of target.doGenerate({
      model: "m",
      sharedPrefix: { key: "p", text: "### System\nBe brief.\n\n### User\n" },
      items: ["a", "b", "c"].map((question) => ({
        id: question,
        prompt: `${question}\n\n### Assistant\n`,
        maxTokens: 2,
        temperature: 0,
        topP: 1,
        seed: 1,
      })),
    }))
      events.push(event);
    const requests = scripted.log.filter((entry) => entry.path === "/v1/chat/completions");
    expect(requests).toHaveLength(3);
    expect(order).toEqual([
      "leader-request",
      "leader-first-token",
      "follower-request",
      "follower-request",
      "leader-end",
    ]);
    expect(requests[0]!.body.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "a" },
    ]);
    expect(requests[0]!.body.stream_options).toEqual({ include_usage: true });
    const tokens = events.filter((event) => event.type === "token" && event.itemId === "a");
    expect(tokens.map((event) => (event.type === "token" ? event.text : ""))).toEqual(["to", "ken"]);
    expect(events.find((event) => event.type === "item-finished" && event.itemId === "b")).toMatchObject({
      text: "token",
      finishReason: "length",
      figures: { promptTokens: 7, generatedTokens: 2, cachedTokens: 0 },
    });
  });

  it("puts the JSON schema into the prompt for servers without json_schema support", async () => {
    const { baseURL, log } = await scriptedServer((_body, response) => response.end(completion('{"a":"b"}')));
    const target = engine(baseURL, {}, { jsonSchema: false });
    expect((await target.doInfo()).capabilities?.structuredOutput).toBe("prompt");
    for await (const _ of target.doGenerate({
      model: "m",
      items: [
        {
          id: "j",
          prompt: "### User\nGive JSON\n\n### Assistant\n",
          maxTokens: 8,
          temperature: 0,
          topP: 1,
          seed: 1,
          jsonSchema: '{"type":"object"}',
        },
      ],
    })) {
      // drain
    }
    const body = log.find((entry) => entry.path === "/v1/chat/completions")!.body;
    expect(body.response_format).toBeUndefined();
    expect(JSON.stringify(body.messages)).toContain('follows this JSON schema: {\\"type\\":\\"object\\"}');
  });

  it("learns context lengths from /v1/models and refuses a model the server does not list", async () => {
    const { baseURL } = await scriptedServer((_body, response) => response.end(completion("x")));
    const target = new OpenAiEngine({
      servers: { s: { baseURL } },
      models: { m: { servers: ["s"] }, other: { servers: ["s"] } },
    });
    const info = await target.doInfo();
    expect(info.models.find((model) => model.name === "m")?.contextLength).toBe(2048);
    expect(info.capabilities).toEqual({
      kvTransfer: false,
      prefixPinning: false,
      modelLoading: false,
      structuredOutput: "server",
    });
    await expect(target.doLoadModel({ model: "other" })).rejects.toThrow('does not serve "other"');
  });

  it("reports an unreachable server when checking a model", async () => {
    const target = engine("http://127.0.0.1:9/v1", { retry: { maxAttempts: 1 } });
    await expect(target.doLoadModel({ model: "m" })).rejects.toThrow(/not reachable/);
  });
});

describe("retryAfter", () => {
  it("reads retry-after-ms, seconds and HTTP dates", () => {
    expect(retryAfter(new Headers({ "retry-after-ms": "250" }))).toBe(250);
    expect(retryAfter(new Headers({ "retry-after": "2" }))).toBe(2000);
    const later = new Date(Date.now() + 5_000).toUTCString();
    expect(retryAfter(new Headers({ "retry-after": later }))).toBeGreaterThan(3_000);
    expect(retryAfter(new Headers({}))).toBeUndefined();
  });
});

describe("openAiModelMapFrom", () => {
  it("routes models to named servers or the default one, reading keys from the environment", () => {
    const map = openAiModelMapFrom(
      {
        servers: { a: { baseURL: "http://10.0.0.1:8000/v1", apiKeyEnv: "KEY_A", maxConcurrency: 8 } },
        models: { "x/Big-70B": { servers: ["a"], remoteName: "big" }, small: null },
      },
      "map.yaml",
      { baseURL: "http://127.0.0.1:8000/v1", environment: { KEY_A: "secret" } },
    );
    expect(map.servers.a).toEqual({
      baseURL: "http://10.0.0.1:8000/v1",
      apiKey: "secret",
      maxConcurrency: 8,
    });
    expect(map.models["x/Big-70B"]).toEqual({ servers: ["a"], remoteName: "big" });
    expect(map.models.small).toEqual({ servers: ["default"] });
  });

  it("names every problem with the file and the path", () => {
    const problems = (value: unknown, defaults = {}) => {
      try {
        openAiModelMapFrom(value, "map.yaml", { environment: {}, ...defaults });
      } catch (error) {
        expect(error).toBeInstanceOf(OpenAiModelMapError);
        return (error as Error).message;
      }
      return "";
    };
    expect(problems({ models: { m: { gguf: "x.gguf" } } })).toContain("map.yaml: models.m");
    expect(problems({ models: { m: null } })).toContain("no --openai-base-url");
    expect(problems({ models: { m: { server: "b" } } })).toContain('no server "b"');
    expect(problems({ servers: { a: { baseURL: "nope" } }, models: {} })).toContain("servers.a.baseURL");
    expect(
      problems({
        servers: { a: { baseURL: "http://h/v1", apiKeyEnv: "MISSING" } },
        models: { m: { server: "a" } },
      }),
    ).toContain("MISSING is not set");
  });
});
