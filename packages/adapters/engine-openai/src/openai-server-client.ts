import { setTimeout as delay } from "node:timers/promises";

/** One OpenAI-compatible server (or a gateway in front of a fleet). */
export interface OpenAiServerConfig {
  /** The OpenAI base URL, with its `/v1` (e.g. `http://127.0.0.1:8000/v1`). */
  readonly baseURL: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  readonly apiKey?: string;
  /** Most requests in flight to this server (default 16); more wait in arrival order. */
  readonly maxConcurrency?: number;
  /** `chat` (`/v1/chat/completions`, default) or `completions` (`/v1/completions`, raw prompt text). */
  readonly api?: "chat" | "completions";
  /** The server enforces `response_format: {type: "json_schema"}` (default true); false: by the prompt. */
  readonly jsonSchema?: boolean;
  /** Stream responses (default true): token events, and time to first token as prefill time. */
  readonly stream?: boolean;
  /** Longest wait for one response (default 10 min). */
  readonly timeoutMs?: number;
  /** Extra headers (a gateway's routing or tenant headers). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** How failed requests are retried (429, 5xx, connection errors). */
export interface RetryOptions {
  /** Attempts in all, the first included (default 4). */
  readonly maxAttempts?: number;
  /** Backoff before the second attempt, doubled each time, with jitter (default 250 ms). */
  readonly baseDelayMs?: number;
  /** Longest backoff, and longest Retry-After honoured (default 30 s). */
  readonly maxDelayMs?: number;
}

/** A request the server refused or failed; `status` 0 for a connection error. */
export class OpenAiHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The OpenAI error code (`context_length_exceeded`, …) when the server sent one. */
    readonly code?: string,
    readonly param?: string,
  ) {
    super(message);
    this.name = "OpenAiHttpError";
  }
}

/** Counting semaphore: most `limit` holders at a time, waiters served in arrival order. */
class Semaphore {
  private held = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  get load(): number {
    return this.held + this.waiters.length;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.held < this.limit) {
      this.held++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        this.held++;
        resolve();
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(grant);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(signal!.reason);
      };
      this.waiters.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  release(): void {
    this.held--;
    this.waiters.shift()?.();
  }
}

/** What one streamed or unstreamed response delivers. */
export interface ResponseHandlers {
  /** A piece of generated text (streaming only). */
  onText(text: string): void;
}

/** The end of a completion. */
export interface CompletionResult {
  readonly text: string;
  readonly finishReason: string | null;
  readonly usage?: {
    readonly prompt_tokens?: number;
    readonly completion_tokens?: number;
    readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null;
  };
  /** Text pieces received (streaming), a token count when the server sends no usage. */
  readonly pieces: number;
  readonly firstTextMs?: number;
  readonly totalMs: number;
}

const RETRYABLE_STATUS = (status: number) => status === 429 || status === 408 || status >= 500;

/**
 * A client of one OpenAI-compatible server: bounded concurrency, retries with backoff that
 * honours Retry-After, SSE parsing. Retries stop once text has been delivered for a request
 * (a stream that breaks midway fails: its text cannot be taken back).
 */
export class OpenAiServerClient {
  private readonly semaphore: Semaphore;
  private readonly retry: Required<RetryOptions>;

  constructor(
    readonly name: string,
    readonly config: OpenAiServerConfig,
    retry: RetryOptions = {},
  ) {
    this.semaphore = new Semaphore(config.maxConcurrency ?? 16);
    this.retry = {
      maxAttempts: retry.maxAttempts ?? 4,
      baseDelayMs: retry.baseDelayMs ?? 250,
      maxDelayMs: retry.maxDelayMs ?? 30_000,
    };
  }

  /** Requests in flight or waiting: used to route a model's request to its least busy server. */
  get load(): number {
    return this.semaphore.load;
  }

  /** `GET {baseURL}/models`: the ids (and context lengths, where the server says) it serves. */
  async listModels(signal?: AbortSignal): Promise<{ id: string; contextLength?: number }[]> {
    const response = await this.fetchWithRetry("GET", "/models", undefined, signal);
    const body = (await response.json()) as { data?: Record<string, unknown>[] };
    return (body.data ?? []).map((model) => {
      const length = model.max_model_len ?? model.context_length ?? model.context_window;
      return {
        id: String(model.id),
        ...(typeof length === "number" && length > 0 ? { contextLength: length } : {}),
      };
    });
  }

  /** Posts one completion request (chat or text, streamed or not) and returns its result. */
  async complete(
    path: "/chat/completions" | "/completions",
    body: Record<string, unknown>,
    handlers: ResponseHandlers,
    signal?: AbortSignal,
  ): Promise<CompletionResult> {
    await this.semaphore.acquire(signal);
    try {
      const startedAt = performance.now();
      const stream = body.stream === true;
      const response = await this.fetchWithRetry("POST", path, body, signal);
      if (!stream) {
        const parsed = (await response.json()) as Record<string, unknown>;
        const choice = firstChoice(parsed);
        return {
          text: choiceText(choice, false),
          finishReason: typeof choice?.finish_reason === "string" ? choice.finish_reason : null,
          ...(isRecord(parsed.usage) ? { usage: parsed.usage as CompletionResult["usage"] } : {}),
          pieces: 0,
          totalMs: performance.now() - startedAt,
        };
      }
      return await readStream(response, handlers, startedAt);
    } finally {
      this.semaphore.release();
    }
  }

  private async fetchWithRetry(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    signal?: AbortSignal,
  ): Promise<Response> {
    const url = `${this.config.baseURL.replace(/\/+$/, "")}${path}`;
    for (let attempt = 1; ; attempt++) {
      const timeout = AbortSignal.timeout(this.config.timeoutMs ?? 600_000);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let failure: OpenAiHttpError;
      let retryAfterMs: number | undefined;
      try {
        const response = await fetch(url, {
          method,
          headers: {
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
            ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
            ...this.config.headers,
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: combined,
        });
        if (response.ok) return response;
        failure = await httpError(response, `${method} ${url}`);
        if (!RETRYABLE_STATUS(response.status)) throw failure;
        retryAfterMs = retryAfter(response.headers);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof OpenAiHttpError) {
          if (!RETRYABLE_STATUS(error.status)) throw error;
          failure = error;
        } else {
          const reason = timeout.aborted
            ? `no response within ${this.config.timeoutMs ?? 600_000} ms`
            : describe(error);
          failure = new OpenAiHttpError(0, `${method} ${url}: ${reason}`);
        }
      }
      if (attempt >= this.retry.maxAttempts) {
        throw new OpenAiHttpError(
          failure.status,
          `${failure.message} (gave up after ${attempt} attempts)`,
          failure.code,
          failure.param,
        );
      }
      const backoff = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
      // Full jitter on our own backoff; the server's Retry-After is taken as asked (capped).
      const waitMs =
        retryAfterMs !== undefined
          ? Math.min(retryAfterMs, this.retry.maxDelayMs)
          : backoff * (0.5 + Math.random() / 2);
      await delay(waitMs, undefined, signal ? { signal } : {});
    }
  }
}

async function httpError(response: Response, what: string): Promise<OpenAiHttpError> {
  const text = await response.text().catch(() => "");
  let message = text.slice(0, 500);
  let code: string | undefined;
  let param: string | undefined;
  try {
    const parsed = JSON.parse(text) as {
      error?: { message?: string; code?: unknown; param?: unknown } | string;
    };
    if (typeof parsed.error === "string") message = parsed.error;
    else if (parsed.error) {
      message = parsed.error.message ?? message;
      if (typeof parsed.error.code === "string") code = parsed.error.code;
      if (typeof parsed.error.param === "string") param = parsed.error.param;
    }
  } catch {
    // Not JSON: keep the text.
  }
  return new OpenAiHttpError(response.status, `${what}: HTTP ${response.status}: ${message}`, code, param);
}

/** Milliseconds a response asks to wait (`retry-after-ms`, `retry-after` seconds or HTTP date). */
export function retryAfter(headers: Headers): number | undefined {
  const milliseconds = Number(headers.get("retry-after-ms"));
  if (headers.get("retry-after-ms") !== null && Number.isFinite(milliseconds) && milliseconds >= 0)
    return milliseconds;
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  const seconds = Number(value);
  if (value.trim() !== "" && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

async function readStream(
  response: Response,
  handlers: ResponseHandlers,
  startedAt: number,
): Promise<CompletionResult> {
  if (!response.body) throw new OpenAiHttpError(0, "the server sent an empty stream");
  const decoder = new TextDecoder();
  let buffer = "";
  let text = "";
  let pieces = 0;
  let finishReason: string | null = null;
  let usage: CompletionResult["usage"];
  let firstTextMs: number | undefined;
  let done = false;
  const handleEvent = (data: string) => {
    if (data === "[DONE]") {
      done = true;
      return;
    }
    const chunk = JSON.parse(data) as Record<string, unknown>;
    if (isRecord(chunk.error)) {
      const error = chunk.error as { message?: string; code?: string };
      throw new OpenAiHttpError(500, `the server failed mid-stream: ${error.message ?? data}`, error.code);
    }
    if (isRecord(chunk.usage)) usage = chunk.usage as CompletionResult["usage"];
    const choice = firstChoice(chunk);
    if (!choice) return;
    const piece = choiceText(choice, true);
    if (piece !== "") {
      firstTextMs ??= performance.now() - startedAt;
      pieces++;
      text += piece;
      handlers.onText(piece);
    }
    if (typeof choice.finish_reason === "string") finishReason = choice.finish_reason;
  };
  for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let boundary = buffer.search(/\r?\n\r?\n/);
    while (boundary >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, "");
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data !== "") handleEvent(data);
      boundary = buffer.search(/\r?\n\r?\n/);
    }
  }
  if (!done && finishReason === null)
    throw new OpenAiHttpError(0, "the stream ended before the completion did");
  return {
    text,
    finishReason,
    ...(usage ? { usage } : {}),
    pieces,
    ...(firstTextMs !== undefined ? { firstTextMs } : {}),
    totalMs: performance.now() - startedAt,
  };
}

function firstChoice(body: Record<string, unknown>): Record<string, unknown> | undefined {
  const choices = body.choices;
  return Array.isArray(choices) && isRecord(choices[0]) ? choices[0] : undefined;
}

/** The text of a choice: chat message/delta content, or a text completion's text. */
function choiceText(choice: Record<string, unknown> | undefined, streamed: boolean): string {
  if (!choice) return "";
  if (typeof choice.text === "string") return choice.text;
  const holder = streamed ? choice.delta : choice.message;
  return isRecord(holder) && typeof holder.content === "string" ? holder.content : "";
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ? `${error.message} (${cause.code})` : error.message;
  }
  return String(error);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
