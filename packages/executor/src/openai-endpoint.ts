import { createHash, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ExecutorEvent, ItemFigures } from "@halo/protocol";
import type { CallSink, ScheduledCallInput } from "./batch-scheduler.js";
import { type ChatPromptMessage, type ChatRole, renderChatPrompt } from "./chat-prompt.js";
import { EngineError, type EngineErrorCode, type EngineModelDescriptor } from "./engine-v1.js";

/** Where and how the executor serves the OpenAI HTTP API. */
export interface OpenAiEndpointOptions {
  /** Interface to bind (default loopback). */
  readonly host?: string;
  /** Port (default 0: a free one). */
  readonly port?: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  readonly bearerToken?: string;
  /** Largest request body accepted (default 4 MiB). */
  readonly maxBodyBytes?: number;
  /** Completion tokens when a request sets neither `max_tokens` nor `max_completion_tokens` (default 256). */
  readonly defaultMaxTokens?: number;
}

/** What the endpoint needs of the executor: its models and its batch scheduler. */
export interface OpenAiEndpointBackend {
  models(): readonly EngineModelDescriptor[];
  /** Queues a call with the executor's other work; returns its cancel function. Throws when refused. */
  submit(input: ScheduledCallInput, sink: CallSink): () => void;
}

/** A running OpenAI endpoint. */
export interface OpenAiEndpointHandle {
  /** `http://host:port` (the OpenAI `baseURL` is this plus `/v1`). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Refuses new requests, waits for running ones (at most `graceMs`), then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

/** An OpenAI-style error: HTTP status and the `{error: {message, type, param, code}}` body. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
  }

  get type(): string {
    if (this.status === 401) return "authentication_error";
    if (this.status >= 500) return "server_error";
    return "invalid_request_error";
  }
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A validated chat or text completion request. */
interface CompletionRequest {
  readonly kind: "chat" | "text";
  readonly model: string;
  readonly prefix: string;
  readonly suffix: string;
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number;
  readonly jsonSchema?: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/**
 * Serves `/v1/chat/completions`, `/v1/completions` and `/v1/models` in the OpenAI wire format
 * over an executor's batch scheduler, so HTTP requests are batched with gRPC Generate calls.
 * One request is one item; a chat request's leading system messages are its shared prefix
 * (keyed like @halo/ir's prefix keys: sha256 of the model and the text).
 */
export async function startOpenAiEndpoint(
  backend: OpenAiEndpointBackend,
  options: OpenAiEndpointOptions = {},
): Promise<OpenAiEndpointHandle> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const defaultMaxTokens = options.defaultMaxTokens ?? 256;
  const createdSeconds = Math.floor(Date.now() / 1000);
  const token = options.bearerToken === undefined ? undefined : Buffer.from(options.bearerToken);
  let closing = false;
  let running = 0;
  let idle: (() => void) | undefined;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (token && !authorized(request.headers.authorization, token)) {
      throw new ApiError(
        401,
        "missing or wrong bearer token (Authorization: Bearer <token>)",
        null,
        "invalid_api_key",
      );
    }
    const path = new URL(request.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    if (path === "/v1/models" || path.startsWith("/v1/models/")) {
      if (request.method !== "GET") throw new ApiError(405, `${request.method} ${path}: use GET`);
      const models = backend.models().map((model) => modelObject(model, createdSeconds));
      if (path === "/v1/models") return sendJson(response, 200, { object: "list", data: models });
      const id = decodeURIComponent(path.slice("/v1/models/".length));
      const model = models.find((candidate) => candidate.id === id);
      if (!model) throw unknownModel(id, backend.models());
      return sendJson(response, 200, model);
    }
    const kind = path === "/v1/chat/completions" ? "chat" : path === "/v1/completions" ? "text" : undefined;
    if (!kind) throw new ApiError(404, `no route ${request.method} ${path}`, null, "unknown_url");
    if (request.method !== "POST") throw new ApiError(405, `${request.method} ${path}: use POST`);
    if (closing) throw new ApiError(503, "the executor is shutting down");
    const body = await readJsonBody(request, maxBodyBytes);
    const parsed = parseCompletionRequest(kind, body, backend.models(), defaultMaxTokens);
    await complete(parsed, response, backend);
  };

  const server = createServer((request, response) => {
    running++;
    handle(request, response)
      .catch((error: unknown) => {
        const apiError = toApiError(error);
        if (!response.headersSent) sendJson(response, apiError.status, errorBody(apiError));
        else if (!response.writableEnded) {
          response.write(`data: ${JSON.stringify(errorBody(apiError))}\n\n`);
          response.end();
        }
      })
      .finally(() => {
        running--;
        if (running === 0) idle?.();
      });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    host,
    port,
    close(graceMs = 30_000) {
      closed ??= (async () => {
        closing = true;
        server.close();
        server.closeIdleConnections();
        if (running > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, graceMs);
            idle = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        server.closeAllConnections();
      })();
      return closed;
    },
  };
}

/** Runs one request through the scheduler and writes the JSON response or the SSE stream. */
function complete(
  request: CompletionRequest,
  response: ServerResponse,
  backend: OpenAiEndpointBackend,
): Promise<void> {
  const id = `${request.kind === "chat" ? "chatcmpl" : "cmpl"}-${randomBytes(12).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const object = request.kind === "chat" ? "chat.completion" : "text_completion";
  const chunkObject = request.kind === "chat" ? "chat.completion.chunk" : "text_completion";
  const base = { id, object, created, model: request.model, system_fingerprint: null };
  // Item ids must be unique within an engine batch, which merges calls of many clients.
  const itemId = `${id}/0`;
  const prefixKey = request.prefix === "" ? undefined : prefixKeyOf(request.model, request.prefix);
  const input: ScheduledCallInput = {
    model: request.model,
    ...(prefixKey ? { sharedPrefix: { key: prefixKey, text: request.prefix } } : {}),
    items: [
      {
        id: itemId,
        prompt: request.suffix,
        maxTokens: request.maxTokens,
        temperature: request.temperature,
        topP: request.topP,
        seed: request.seed,
        ...(request.jsonSchema !== undefined ? { jsonSchema: request.jsonSchema } : {}),
      },
    ],
    streamTokens: request.stream,
  };
  const sse = (payload: unknown) => response.write(`data: ${JSON.stringify(payload)}\n\n`);
  const startStream = () => {
    if (response.headersSent) return;
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    if (request.kind === "chat") {
      sse({
        ...base,
        object: chunkObject,
        choices: [
          { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
        ],
      });
    }
  };

  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      if (error === undefined) resolve();
      else reject(error);
    };
    const sink: CallSink = {
      event(event: ExecutorEvent) {
        if (done) return;
        if (event.type === "token") {
          startStream();
          if (event.text !== "")
            sse({ ...base, object: chunkObject, choices: [streamChoice(request, event.text, null)] });
        } else if (event.type === "item-failed") {
          cancel();
          finish(new EngineError(event.code, event.message));
        } else if (event.type === "item-finished") {
          const usage = usageOf(event.figures);
          if (request.stream) {
            startStream();
            sse({ ...base, object: chunkObject, choices: [streamChoice(request, "", event.finishReason)] });
            if (request.includeUsage) sse({ ...base, object: chunkObject, choices: [], usage });
            response.end("data: [DONE]\n\n");
          } else {
            const choice =
              request.kind === "chat"
                ? {
                    index: 0,
                    message: { role: "assistant", content: event.text, refusal: null },
                    logprobs: null,
                    finish_reason: event.finishReason,
                  }
                : { index: 0, text: event.text, logprobs: null, finish_reason: event.finishReason };
            sendJson(response, 200, { ...base, choices: [choice], usage });
          }
          finish();
        }
      },
      fail(error) {
        finish(error);
      },
    };
    let cancel: () => void = () => {};
    try {
      cancel = backend.submit(input, sink);
    } catch (error) {
      finish(error);
      return;
    }
    // A client that goes away cancels its item (the engine stops when nobody else waits for the batch).
    response.on("close", () => {
      if (!done) {
        cancel();
        finish(new ApiError(499, "the client closed the connection"));
      }
    });
  });
}

function streamChoice(request: CompletionRequest, text: string, finishReason: "stop" | "length" | null) {
  return request.kind === "chat"
    ? { index: 0, delta: text === "" ? {} : { content: text }, logprobs: null, finish_reason: finishReason }
    : { index: 0, text, logprobs: null, finish_reason: finishReason };
}

function usageOf(figures: ItemFigures) {
  return {
    prompt_tokens: figures.promptTokens,
    completion_tokens: figures.generatedTokens,
    total_tokens: figures.promptTokens + figures.generatedTokens,
    prompt_tokens_details: { cached_tokens: figures.cachedTokens },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

/** The key a prefix is cached under: the same as @halo/ir's `prefixKeyOf`, so gRPC and HTTP share it. */
export function prefixKeyOf(model: string, prefix: string): string {
  return createHash("sha256").update(JSON.stringify({ model, prefix })).digest("hex");
}

/** A model as `/v1/models` lists it; `max_model_len` as vLLM names the context length. */
function modelObject(model: EngineModelDescriptor, createdSeconds: number) {
  return {
    id: model.name,
    object: "model",
    created: createdSeconds,
    owned_by: "halo",
    max_model_len: model.contextLength,
  };
}

function unknownModel(name: string, models: readonly EngineModelDescriptor[]): ApiError {
  const served = models.map((model) => `"${model.name}"`).join(", ");
  return new ApiError(
    404,
    `The model "${name}" does not exist on this executor; it serves ${served}`,
    "model",
    "model_not_found",
  );
}

function authorized(header: string | undefined, token: Buffer): boolean {
  const match = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1]!.trim());
  return given.length === token.length && timingSafeEqual(given, token);
}

async function readJsonBody(request: IncomingMessage, maxBodyBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) {
      throw new ApiError(413, `the request body exceeds ${maxBodyBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, `the request body is not JSON: ${(error as Error).message}`);
  }
}

const ROLES: Readonly<Record<string, ChatRole>> = {
  system: "system",
  developer: "system",
  user: "user",
  assistant: "assistant",
  tool: "tool",
};

/** Checks a request body field by field; every problem names its parameter. */
function parseCompletionRequest(
  kind: "chat" | "text",
  body: unknown,
  models: readonly EngineModelDescriptor[],
  defaultMaxTokens: number,
): CompletionRequest {
  if (!isRecord(body)) throw new ApiError(400, "the request body must be a JSON object");
  if (typeof body.model !== "string" || body.model === "") {
    throw new ApiError(400, "model: a model name is required", "model");
  }
  const model = models.find((candidate) => candidate.name === body.model);
  if (!model) throw unknownModel(body.model, models);

  let prefix = "";
  let suffix: string;
  if (kind === "chat") {
    ({ prefix, suffix } = renderChatPrompt(parseMessages(body.messages)));
  } else {
    const prompt = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
    if (typeof prompt !== "string" || prompt === "") {
      throw new ApiError(400, "prompt: a non-empty string is required (one prompt per request)", "prompt");
    }
    suffix = prompt;
  }

  const maxTokensField = body.max_completion_tokens ?? body.max_tokens;
  const maxParam = body.max_completion_tokens != null ? "max_completion_tokens" : "max_tokens";
  const maxTokens = maxTokensField == null ? Math.min(defaultMaxTokens, model.contextLength) : maxTokensField;
  if (typeof maxTokens !== "number" || !Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new ApiError(400, `${maxParam}: expected an integer >= 1`, maxParam);
  }
  if (maxTokens > model.contextLength) {
    throw new ApiError(
      400,
      `${maxParam}: ${maxTokens} exceeds the context length ${model.contextLength} of model "${model.name}"`,
      maxParam,
    );
  }
  const temperature = optionalNumber(
    body,
    "temperature",
    1,
    (value) => value >= 0 && value <= 2,
    "a number in [0, 2]",
  );
  const topP = optionalNumber(body, "top_p", 1, (value) => value > 0 && value <= 1, "a number in (0, 1]");
  const seed = optionalNumber(
    body,
    "seed",
    randomInt(0, 2 ** 31),
    (value) => Number.isInteger(value) && value >= 0 && value < 2 ** 32,
    "an integer in [0, 2^32)",
  );
  optionalNumber(body, "n", 1, (value) => value === 1, "1 (one choice per request)");
  for (const penalty of ["frequency_penalty", "presence_penalty"] as const) {
    optionalNumber(body, penalty, 0, (value) => value === 0, "0 (penalties are not supported)");
  }
  if (body.logprobs != null && body.logprobs !== false) {
    throw new ApiError(400, "logprobs: not supported", "logprobs");
  }
  const stop = body.stop;
  if (stop != null && !(Array.isArray(stop) && stop.length === 0)) {
    throw new ApiError(400, "stop: stop sequences are not supported", "stop");
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    throw new ApiError(400, "tools: tool calling is not supported", "tools");
  }
  if (body.stream != null && typeof body.stream !== "boolean") {
    throw new ApiError(400, "stream: expected a boolean", "stream");
  }
  const streamOptions = body.stream_options;
  if (streamOptions != null && !isRecord(streamOptions)) {
    throw new ApiError(400, "stream_options: expected an object", "stream_options");
  }
  const jsonSchema = parseResponseFormat(body.response_format);
  return {
    kind,
    model: model.name,
    prefix,
    suffix,
    maxTokens,
    temperature,
    topP,
    seed,
    ...(jsonSchema !== undefined ? { jsonSchema } : {}),
    stream: body.stream === true,
    includeUsage: isRecord(streamOptions) && streamOptions.include_usage === true,
  };
}

function parseMessages(messages: unknown): ChatPromptMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new ApiError(400, "messages: a non-empty array of messages is required", "messages");
  }
  return messages.map((message, index) => {
    const where = `messages[${index}]`;
    if (!isRecord(message)) throw new ApiError(400, `${where}: expected an object`, where);
    const role = typeof message.role === "string" ? ROLES[message.role] : undefined;
    if (!role) {
      throw new ApiError(
        400,
        `${where}.role: expected one of ${Object.keys(ROLES).join(", ")} (got ${JSON.stringify(message.role)})`,
        `${where}.role`,
      );
    }
    if (Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
      throw new ApiError(400, `${where}.tool_calls: tool calling is not supported`, `${where}.tool_calls`);
    }
    return { role, content: messageContent(message.content, role, where) };
  });
}

/** A message's text: a string, or text parts (joined); other part types are refused. */
function messageContent(content: unknown, role: ChatRole, where: string): string {
  if (typeof content === "string") return content;
  if (content == null && role === "assistant") return "";
  if (Array.isArray(content)) {
    return content
      .map((part, index) => {
        if (!isRecord(part) || part.type !== "text" || typeof part.text !== "string") {
          throw new ApiError(
            400,
            `${where}.content[${index}]: only text parts ({type: "text", text}) are supported`,
            `${where}.content`,
          );
        }
        return part.text;
      })
      .join("");
  }
  throw new ApiError(
    400,
    `${where}.content: expected a string or an array of text parts`,
    `${where}.content`,
  );
}

/** The JSON schema a `response_format` asks for (serialized), or undefined for plain text. */
function parseResponseFormat(format: unknown): string | undefined {
  if (format == null) return undefined;
  if (!isRecord(format) || typeof format.type !== "string") {
    throw new ApiError(
      400,
      "response_format: expected {type: text | json_object | json_schema}",
      "response_format",
    );
  }
  if (format.type === "text") return undefined;
  if (format.type === "json_object") {
    // `schema` beside `json_object` (as llama-server and vLLM accept it) is enforced like json_schema's.
    if (format.schema == null) return JSON.stringify({ type: "object" });
    if (!isRecord(format.schema)) {
      throw new ApiError(
        400,
        "response_format.schema: expected a JSON schema object",
        "response_format.schema",
      );
    }
    return JSON.stringify(format.schema);
  }
  if (format.type === "json_schema") {
    const schema = isRecord(format.json_schema) ? format.json_schema.schema : undefined;
    if (!isRecord(schema)) {
      throw new ApiError(
        400,
        "response_format.json_schema.schema: a JSON schema object is required",
        "response_format.json_schema.schema",
      );
    }
    return JSON.stringify(schema);
  }
  throw new ApiError(
    400,
    `response_format.type: expected text, json_object or json_schema (got ${JSON.stringify(format.type)})`,
    "response_format.type",
  );
}

function optionalNumber(
  body: Record<string, unknown>,
  name: string,
  fallback: number,
  check: (value: number) => boolean,
  expected: string,
): number {
  const value = body[name];
  if (value == null) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || !check(value)) {
    throw new ApiError(400, `${name}: expected ${expected} (got ${JSON.stringify(value)})`, name);
  }
  return value;
}

/** HTTP status and OpenAI error code for each engine error. */
const API_ERRORS: Readonly<Record<EngineErrorCode, readonly [number, string | null, string | null]>> = {
  "unknown-model": [404, "model", "model_not_found"],
  "not-found": [404, null, null],
  "prompt-too-long": [400, "messages", "context_length_exceeded"],
  "invalid-json-schema": [400, "response_format", "invalid_json_schema"],
  "over-limits": [400, null, null],
  "invalid-kv": [500, null, null],
  unsupported: [400, null, "unsupported"],
  internal: [500, null, null],
};

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof EngineError) {
    const [status, param, code] = API_ERRORS[error.code];
    return new ApiError(status, error.message, param, code);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(500, `internal error: ${message}`);
}

function errorBody(error: ApiError) {
  return { error: { message: error.message, type: error.type, param: error.param, code: error.code } };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
