import { once } from "node:events";
import {
  type ChannelOptions,
  type ClientUnaryCall,
  credentials,
  status as GrpcStatus,
  Metadata,
  type ServiceError,
} from "@grpc/grpc-js";
import { AUTHORIZATION_METADATA_KEY, type ExecutorConnectionSecurity } from "./connection-security.js";
import { ExecutorCallError, toExecutorCallError } from "./executor-call-error.js";
import {
  type ExecutorEvent,
  eventFromWire,
  type GenerateInput,
  generateRequestToWire,
} from "./executor-events.js";
import { type HealthCheckResponse, HealthClient } from "./generated/grpc/health/v1/health.js";
import {
  type DropKvResponse,
  ExecutorClient as GeneratedExecutorClient,
  type ImportKvRequest,
  type ImportKvResponse,
  type InfoResponse,
  type LoadModelResponse,
  type StatsResponse,
} from "./generated/halo/executor/v1/executor.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./grpc-server.js";
import { type HealthStatus, healthStatusFromWire } from "./health-service.js";

/** The calls of an executor client (deadlines are set per method). */
export type ExecutorMethod =
  | "info"
  | "loadModel"
  | "generate"
  | "exportKv"
  | "importKv"
  | "dropKv"
  | "stats"
  | "health";

/** Default deadline of each call. Loading a large model or generating a big batch takes minutes. */
export const DEFAULT_DEADLINES_MS: Readonly<Record<ExecutorMethod, number>> = {
  info: 10_000,
  loadModel: 600_000,
  generate: 600_000,
  exportKv: 120_000,
  importKv: 120_000,
  dropKv: 10_000,
  stats: 10_000,
  health: 5_000,
};

/** Calls that are safe to repeat: retried when the executor is UNAVAILABLE. */
const IDEMPOTENT: ReadonlySet<ExecutorMethod> = new Set(["info", "loadModel", "dropKv", "stats", "health"]);

/** Retry of idempotent calls on UNAVAILABLE, with exponential backoff inside the call's deadline. */
export interface RetryOptions {
  /** Attempts in total, the first included (1 disables retries). */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 4, initialBackoffMs: 50, maxBackoffMs: 1_000 };

/**
 * HTTP/2 keepalive pings of a client channel: a peer that stops answering
 * (frozen process, dropped network) fails the channel's calls with UNAVAILABLE
 * after `timeMs + timeoutMs` instead of leaving them hanging until their deadline.
 */
export interface KeepaliveOptions {
  /** Interval between pings (default 10 s; executors permit pings every 5 s). */
  readonly timeMs: number;
  /** How long a ping may go unanswered before the connection is dropped (default 5 s). */
  readonly timeoutMs: number;
  /** Ping idle connections too, so a lost executor is noticed before the next call (default true). */
  readonly permitWithoutCalls: boolean;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = {
  timeMs: 10_000,
  timeoutMs: 5_000,
  permitWithoutCalls: true,
};

/** The grpc-js channel options of a keepalive setting. */
export function keepaliveChannelOptions(keepalive: Partial<KeepaliveOptions> = {}): ChannelOptions {
  const options = { ...DEFAULT_KEEPALIVE, ...keepalive };
  return {
    "grpc.keepalive_time_ms": options.timeMs,
    "grpc.keepalive_timeout_ms": options.timeoutMs,
    "grpc.keepalive_permit_without_calls": options.permitWithoutCalls ? 1 : 0,
  };
}

export interface ExecutorClientOptions {
  /** Per-method deadlines overriding DEFAULT_DEADLINES_MS. */
  readonly deadlinesMs?: Partial<Record<ExecutorMethod, number>>;
  readonly retry?: Partial<RetryOptions>;
  /** Keepalive pings (default DEFAULT_KEEPALIVE). */
  readonly keepalive?: Partial<KeepaliveOptions>;
  /** Raw grpc-js channel options; they override everything above. */
  readonly channelOptions?: ChannelOptions;
  /** TLS (trusting `tlsCaPem`) and/or a bearer token; default plaintext without a token, for loopback executors. */
  readonly security?: ExecutorConnectionSecurity;
}

/** Options of one call. */
export interface ExecutorCallOptions {
  /** Overrides the method's deadline for this call (covers every retry). */
  readonly deadlineMs?: number;
  /** Cancels the call (it then fails with CANCELLED). */
  readonly signal?: AbortSignal;
}

/** A typed client of one executor sidecar. Every failure is an ExecutorCallError. */
export interface ExecutorClient {
  /** `host:port` of the executor. */
  readonly address: string;
  info(options?: ExecutorCallOptions): Promise<InfoResponse>;
  loadModel(model: string, options?: ExecutorCallOptions): Promise<LoadModelResponse>;
  /** Streams the events of one Generate batch; ends after the `batch-finished` event. */
  generate(input: GenerateInput, options?: ExecutorCallOptions): AsyncIterable<ExecutorEvent>;
  /** Streams the KV bytes of the cached prefix `key`. */
  exportKv(key: string, options?: ExecutorCallOptions): AsyncIterable<Uint8Array>;
  /** Sends KV bytes (from `exportKv` of another executor) to be cached under `key`. */
  importKv(
    key: string,
    model: string,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options?: ExecutorCallOptions,
  ): Promise<ImportKvResponse>;
  dropKv(key: string, options?: ExecutorCallOptions): Promise<DropKvResponse>;
  stats(options?: ExecutorCallOptions): Promise<StatsResponse>;
  /** The health status of `service` ("" — the default — is the executor as a whole). */
  health(service?: string, options?: ExecutorCallOptions): Promise<HealthStatus>;
  /** Resolves once the channel is connected; rejects with UNAVAILABLE after `timeoutMs`. */
  waitForReady(timeoutMs: number): Promise<void>;
  close(): void;
}

type UnaryCallback<T> = (error: ServiceError | null, response: T) => void;

/** Creates a client of the executor at `address` (`host:port`): plaintext unless `options.security` gives a CA. */
export function createExecutorClient(address: string, options: ExecutorClientOptions = {}): ExecutorClient {
  const channelOptions: ChannelOptions = {
    "grpc.max_receive_message_length": DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": DEFAULT_MAX_MESSAGE_BYTES,
    ...keepaliveChannelOptions(options.keepalive),
    ...options.channelOptions,
  };
  const security = options.security;
  // One credentials object for both stubs, so they share a subchannel (one connection, one TLS handshake).
  const channelCredentials = security?.tlsCaPem
    ? credentials.createSsl(security.tlsCaPem)
    : credentials.createInsecure();
  const executor = new GeneratedExecutorClient(address, channelCredentials, channelOptions);
  const healthClient = new HealthClient(address, channelCredentials, channelOptions);
  // Sent by hand rather than as call credentials: grpc-js sends those only over TLS, and a
  // loopback executor may require a token without TLS.
  const authorization = security?.token === undefined ? undefined : `Bearer ${security.token}`;
  const metadata = () => {
    const entries = new Metadata();
    if (authorization !== undefined) entries.set(AUTHORIZATION_METADATA_KEY, authorization);
    return entries;
  };
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...options.retry };
  const deadlineOf = (method: ExecutorMethod, call?: ExecutorCallOptions) =>
    call?.deadlineMs ?? options.deadlinesMs?.[method] ?? DEFAULT_DEADLINES_MS[method];

  /** Runs a unary call, retrying idempotent methods on UNAVAILABLE until attempts or the deadline run out. */
  async function unary<T>(
    method: ExecutorMethod,
    call: ExecutorCallOptions | undefined,
    invoke: (deadline: Date, callback: UnaryCallback<T>) => ClientUnaryCall,
  ): Promise<T> {
    const deadlineAt = Date.now() + deadlineOf(method, call);
    const attempts = IDEMPOTENT.has(method) ? Math.max(1, retry.maxAttempts) : 1;
    let backoffMs = retry.initialBackoffMs;
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(call?.signal, method, address);
      try {
        return await new Promise<T>((resolve, reject) => {
          const pending = invoke(new Date(deadlineAt), (error, response) => {
            call?.signal?.removeEventListener("abort", cancel);
            if (error) reject(error);
            else resolve(response);
          });
          const cancel = () => pending.cancel();
          call?.signal?.addEventListener("abort", cancel, { once: true });
        });
      } catch (error) {
        const wrapped = toExecutorCallError(error, method, address);
        const remainingMs = deadlineAt - Date.now();
        const waitMs = Math.min(backoffMs * (0.5 + Math.random() / 2), retry.maxBackoffMs);
        if (wrapped.code !== GrpcStatus.UNAVAILABLE || attempt >= attempts || remainingMs <= waitMs)
          throw wrapped;
        await sleep(waitMs, call?.signal);
        backoffMs = Math.min(backoffMs * 2, retry.maxBackoffMs);
      }
    }
  }

  return {
    address,
    info: (call) =>
      unary("info", call, (deadline, done) => executor.info({}, metadata(), { deadline }, done)),
    loadModel: (model, call) =>
      unary("loadModel", call, (deadline, done) =>
        executor.loadModel({ model }, metadata(), { deadline }, done),
      ),
    dropKv: (key, call) =>
      unary("dropKv", call, (deadline, done) => executor.dropKv({ key }, metadata(), { deadline }, done)),
    stats: (call) =>
      unary("stats", call, (deadline, done) => executor.stats({}, metadata(), { deadline }, done)),
    async health(service = "", call) {
      const response = await unary<HealthCheckResponse>("health", call, (deadline, done) =>
        healthClient.check({ service }, metadata(), { deadline }, done),
      );
      return healthStatusFromWire(response.status);
    },

    async *generate(input, call) {
      throwIfAborted(call?.signal, "generate", address);
      const stream = executor.generate(generateRequestToWire(input), metadata(), {
        deadline: new Date(Date.now() + deadlineOf("generate", call)),
      });
      const cancel = () => stream.cancel();
      call?.signal?.addEventListener("abort", cancel, { once: true });
      let finished = false;
      try {
        for await (const message of stream) {
          const event = eventFromWire(message);
          if (event) yield event;
        }
        finished = true;
      } catch (error) {
        finished = true;
        throw toExecutorCallError(error, "generate", address);
      } finally {
        call?.signal?.removeEventListener("abort", cancel);
        // The consumer stopped early: tell the executor to stop working for us.
        if (!finished) stream.cancel();
      }
    },

    async *exportKv(key, call) {
      throwIfAborted(call?.signal, "exportKv", address);
      const stream = executor.exportKv({ key }, metadata(), {
        deadline: new Date(Date.now() + deadlineOf("exportKv", call)),
      });
      const cancel = () => stream.cancel();
      call?.signal?.addEventListener("abort", cancel, { once: true });
      let finished = false;
      try {
        for await (const chunk of stream) yield new Uint8Array(chunk.data);
        finished = true;
      } catch (error) {
        finished = true;
        throw toExecutorCallError(error, "exportKv", address);
      } finally {
        call?.signal?.removeEventListener("abort", cancel);
        if (!finished) stream.cancel();
      }
    },

    async importKv(key, model, chunks, call) {
      throwIfAborted(call?.signal, "importKv", address);
      let settle:
        | { resolve: (value: ImportKvResponse) => void; reject: (error: unknown) => void }
        | undefined;
      const result = new Promise<ImportKvResponse>((resolve, reject) => {
        settle = { resolve, reject };
      });
      const stream = executor.importKv(
        metadata(),
        { deadline: new Date(Date.now() + deadlineOf("importKv", call)) },
        (error, response) => (error ? settle!.reject(error) : settle!.resolve(response)),
      );
      const cancel = () => stream.cancel();
      call?.signal?.addEventListener("abort", cancel, { once: true });
      // Resolves (never rejects) when the call has a status, so a write loop waiting for 'drain' wakes up.
      const ended = result.then(
        () => undefined,
        () => undefined,
      );
      const send = async (message: ImportKvRequest) => {
        if (!stream.write(message)) await Promise.race([once(stream, "drain"), ended]);
      };
      try {
        await send({ part: { $case: "header", header: { key, model } } });
        for await (const chunk of chunks) {
          await send({
            part: { $case: "chunk", chunk: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) },
          });
        }
        stream.end();
        return await result;
      } catch (error) {
        stream.cancel();
        throw toExecutorCallError(error, "importKv", address);
      } finally {
        call?.signal?.removeEventListener("abort", cancel);
      }
    },

    waitForReady(timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        executor.waitForReady(new Date(Date.now() + timeoutMs), (error) => {
          if (!error) resolve();
          else reject(new ExecutorCallError(GrpcStatus.UNAVAILABLE, error.message, "waitForReady", address));
        });
      });
    },

    close() {
      executor.close();
      healthClient.close();
    },
  };
}

function throwIfAborted(signal: AbortSignal | undefined, method: string, address: string): void {
  if (signal?.aborted)
    throw new ExecutorCallError(GrpcStatus.CANCELLED, "cancelled by the caller", method, address);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
