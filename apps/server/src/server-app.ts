/**
 * The HTTP API (hono + @hono/zod-openapi): every route is declared with its
 * zod schemas, which validate requests (422 on bad input, never 500) and
 * generate `/openapi.json`. Raw bodies (workflow YAML, batch files) are read
 * by the handlers themselves: workflows under a byte limit, batch files
 * streamed into the store.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { explainWorkflow, formatProblems, summaryLine, type WorkflowProblem } from "@halo/ir";
import { planToGanttSvg } from "@halo/optimizer";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import {
  BatchSchema,
  batchView,
  ErrorSchema,
  ExecutorSchema,
  OnlineQuerySchema,
  onlineQueryView,
  QuerySubmissionSchema,
  WorkflowSchema,
  WorkflowSummarySchema,
} from "./api-schemas.js";
import { BodyTooLargeError, ingestBatchUpload, UPLOAD_FORMATS, type UploadFormat } from "./batch-upload.js";
import { dashboardHtml } from "./dashboard-page.js";
import { docsHtml } from "./docs-page.js";
import type { EventHub, Subscription } from "./event-hub.js";
import type { ServerMetrics } from "./server-metrics.js";
import { type ServerStore, TERMINAL_BATCH_STATUSES } from "./store/server-store.js";
import { DuplicateQueryError, QueueFullError, type WorkScheduler } from "./work-scheduler.js";
import type { WorkflowRegistry } from "./workflow-registry.js";

/** Byte and count limits of requests. */
export interface RequestLimits {
  /** Workflow documents and online query bodies (default 1 MiB). */
  readonly maxBodyBytes: number;
  /** Batch job files (default 1 GiB). */
  readonly maxUploadBytes: number;
  /** Queries in one batch job (default 1,000,000). */
  readonly maxBatchQueries: number;
  /** Batch jobs not finished at once before new ones get 429 (default 64). */
  readonly maxActiveBatches: number;
  /** Longest `?wait=` (default 300 s). */
  readonly maxWaitMs: number;
}

/** Executors as the dashboard and `/v1/executors` show them. */
export type ExecutorsView = () => Promise<z.infer<typeof ExecutorSchema>[]>;

/** What the routes use. */
export interface AppContext {
  readonly store: ServerStore;
  readonly registry: WorkflowRegistry;
  readonly scheduler: WorkScheduler;
  readonly hub: EventHub;
  readonly metrics: ServerMetrics;
  readonly limits: RequestLimits;
  readonly tokens: readonly string[];
  readonly spoolDirectory: string;
  readonly executors: ExecutorsView;
  readonly ready: () => Promise<{ ready: boolean; reasons: string[] }>;
  readonly log: (message: string) => void;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function errorJson(code: string, message: string, extra: Record<string, unknown> = {}) {
  return { error: { code, message }, ...extra };
}

function problemsJson(problems: readonly WorkflowProblem[]) {
  return problems.map((problem) => ({
    code: problem.code,
    message: problem.message,
    ...(problem.source.file ? { file: problem.source.file } : {}),
    ...(problem.source.path ? { path: problem.source.path } : {}),
    ...(problem.source.line !== undefined ? { line: problem.source.line } : {}),
    ...(problem.source.column !== undefined ? { column: problem.source.column } : {}),
  }));
}

/** Parses `?wait=`: `5s`, `500ms`, `2m` or plain seconds. */
export function parseWaitMs(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2] ?? "s";
  return unit === "ms" ? amount : unit === "m" ? amount * 60_000 : amount * 1000;
}

/** Reads a request body as text, refusing more than `maxBytes`. */
async function readLimited(c: Context, maxBytes: number): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  const body = c.req.raw.body;
  if (!body) return "";
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLargeError(maxBytes);
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString("utf8");
}

function tokenMatches(given: string, tokens: readonly string[]): boolean {
  const candidate = Buffer.from(given);
  return tokens.some((token) => {
    const expected = Buffer.from(token);
    return expected.length === candidate.length && timingSafeEqual(expected, candidate);
  });
}

const PUBLIC_PATHS = new Set(["/", "/healthz", "/readyz", "/docs", "/openapi.json"]);

/** A handler whose answers the route's declared JSON shapes do not describe (raw bodies, streams). */
type RawHandler = (c: Context) => Promise<Response>;
const rawHandler = (handler: RawHandler) => handler as never;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});
const errorResponse = (description: string) => json(ErrorSchema, description);

export function createApp(context: AppContext): OpenAPIHono {
  const { store, registry, scheduler, hub, metrics, limits } = context;
  const app = new OpenAPIHono({
    // Bad parameters or bodies: 422 with what is wrong, never a 500.
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(
          errorJson(
            "invalid-request",
            result.error.issues
              .map((issue) => `${issue.path.join(".") || "(body)"}: ${issue.message}`)
              .join("; "),
          ),
          422,
        );
      }
      return undefined;
    },
  });

  app.onError((error, c) => {
    if (error instanceof BodyTooLargeError) {
      metrics.reject("body-too-large");
      return c.json(errorJson("body-too-large", error.message), 413);
    }
    if (error instanceof QueueFullError) {
      metrics.reject("queue-full");
      c.header("Retry-After", String(error.retryAfterSeconds));
      return c.json(errorJson("queue-full", error.message), 429);
    }
    if (error instanceof SyntaxError) return c.json(errorJson("invalid-json", error.message), 400);
    if ("getResponse" in error && typeof error.getResponse === "function") {
      return error.getResponse() as Response;
    }
    context.log(`internal error on ${c.req.method} ${c.req.path}: ${error.stack ?? error.message}`);
    return c.json(errorJson("internal", "internal server error"), 500);
  });

  app.use("*", async (c, next) => {
    if (context.tokens.length === 0 || PUBLIC_PATHS.has(c.req.path)) return next();
    const header = c.req.header("authorization") ?? "";
    const bearer = /^Bearer\s+(.+)$/i.exec(header)?.[1];
    // EventSource cannot send headers: the dashboard passes its token as `access_token`.
    const given = bearer ?? c.req.query("access_token");
    if (given !== undefined && tokenMatches(given.trim(), context.tokens)) return next();
    metrics.reject("unauthorized");
    c.header("WWW-Authenticate", 'Bearer realm="halo"');
    return c.json(errorJson("unauthorized", "a valid bearer token is required"), 401);
  });

  // ------------------------------------------------------------ health, metrics, docs
  app.openapi(
    createRoute({
      method: "get",
      path: "/healthz",
      summary: "Liveness: the process answers",
      responses: { 200: json(z.object({ status: z.literal("ok") }), "alive") },
    }),
    (c) => c.json({ status: "ok" as const }, 200),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/readyz",
      summary: "Readiness: the store and every executor answer",
      responses: {
        200: json(z.object({ ready: z.boolean(), reasons: z.array(z.string()) }), "ready"),
        503: json(z.object({ ready: z.boolean(), reasons: z.array(z.string()) }), "not ready"),
      },
    }),
    async (c) => {
      const state = await context.ready();
      return state.ready ? c.json(state, 200) : c.json(state, 503);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/metrics",
      summary: "Prometheus metrics (halo_ prefix)",
      responses: { 200: { content: { "text/plain": { schema: z.string() } }, description: "metrics" } },
    }),
    async (c) => {
      c.header("Content-Type", metrics.registry.contentType);
      return c.text(await metrics.registry.metrics(), 200);
    },
  );
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Halo server",
      version: "1.0.0",
      description: "Workflows, online queries and batch jobs of agentic LLM workflows",
    },
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearer", { type: "http", scheme: "bearer" });
  app.get("/docs", (c) => c.html(docsHtml()));
  app.get("/", async (c) => {
    // Open servers render their state into the page; with tokens the page loads it with the user's token.
    const authRequired = context.tokens.length > 0;
    const [workflows, batches, executors] = authRequired
      ? [[], [], []]
      : await Promise.all([store.listWorkflows(), store.listBatches(50), context.executors()]);
    return c.html(
      dashboardHtml({ workflows, batches, executors, online: scheduler.onlineFigures(), authRequired }),
    );
  });

  // ------------------------------------------------------------ workflows
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/workflows",
      summary: "Register (or replace) a workflow: YAML or JSON in the graph or ops dialect",
      request: {
        body: {
          required: true,
          description: "The workflow document; send JSON with Content-Type application/json",
          // Only YAML is declared: a declared JSON body would be validated (and consumed) before the handler.
          content: { "application/yaml": { schema: z.string() } },
        },
      },
      responses: {
        201: json(WorkflowSchema, "registered"),
        200: json(WorkflowSchema, "replaced an earlier version"),
        413: errorResponse("the document is too large"),
        422: errorResponse("the workflow has problems (each with its line, YAML path and code)"),
      },
    }),
    // Answers outside the declared JSON shapes (raw bodies, streams, several error shapes).
    rawHandler(async (c) => {
      const text = await readLimited(c, limits.maxBodyBytes);
      const contentType = c.req.header("content-type") ?? "";
      const format = contentType.includes("json") ? "json" : "yaml";
      const result = await registry.register(text, format, nowSeconds());
      if (!result.ok) {
        return c.json(
          errorJson("invalid-workflow", `the workflow has ${result.problems.length} problem(s)`, {
            problems: problemsJson(result.problems),
            text: formatProblems(result.problems),
          }),
          422,
        );
      }
      const registered = result.registered;
      hub.publish("server", { type: "workflow", data: { name: registered.workflow.name } });
      return c.json(workflowView(registered), result.created ? 201 : 200);
    }),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/workflows",
      summary: "List registered workflows",
      responses: {
        200: json(z.object({ object: z.literal("list"), data: z.array(WorkflowSummarySchema) }), "workflows"),
      },
    }),
    async (c) => {
      const workflows = await registry.list();
      return c.json(
        {
          object: "list" as const,
          data: workflows.map((workflow) => ({
            name: workflow.name,
            format: workflow.format,
            created_at: workflow.createdAt,
            updated_at: workflow.updatedAt,
          })),
        },
        200,
      );
    },
  );
  const NameParam = z.object({ name: z.string().min(1).max(200) });
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/workflows/{name}",
      summary: "A workflow with its source and explain view",
      request: { params: NameParam },
      responses: { 200: json(WorkflowSchema, "the workflow"), 404: errorResponse("no such workflow") },
    }),
    async (c) => {
      const registered = await registry.get(c.req.valid("param").name);
      if (!registered) return c.json(errorJson("not-found", "no such workflow"), 404);
      return c.json(workflowView(registered), 200);
    },
  );

  // ------------------------------------------------------------ online queries
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/workflows/{name}/queries",
      summary: "Submit an online query; 202 at once, or its result with ?wait=",
      request: {
        params: NameParam,
        query: z.object({
          wait: z
            .string()
            .optional()
            .openapi({ description: "Wait up to this long for the result: 5s, 500ms, 2m" }),
        }),
        body: { required: true, content: { "application/json": { schema: QuerySubmissionSchema } } },
      },
      responses: {
        202: json(OnlineQuerySchema, "accepted (or still running when ?wait= ran out)"),
        200: json(OnlineQuerySchema, "finished within ?wait="),
        404: errorResponse("no such workflow"),
        409: errorResponse("the query id exists already"),
        413: errorResponse("the body is too large"),
        422: errorResponse("invalid request or missing input fields"),
        429: errorResponse("the online queue is full (see Retry-After)"),
      },
    }),
    async (c) => {
      const { name } = c.req.valid("param");
      const { wait } = c.req.valid("query");
      const body = c.req.valid("json");
      const registered = await registry.get(name);
      if (!registered) return c.json(errorJson("not-found", `no workflow named "${name}"`), 404);
      const missing = registered.workflow.inputFields.filter((field) => !Object.hasOwn(body.context, field));
      if (missing.length > 0) {
        return c.json(
          errorJson("missing-input-field", `context lacks the input field(s) ${missing.join(", ")}`),
          422,
        );
      }
      let waitMs: number | undefined;
      if (wait !== undefined) {
        waitMs = parseWaitMs(wait);
        if (waitMs === undefined)
          return c.json(errorJson("invalid-request", `wait: cannot parse "${wait}"`), 422);
        waitMs = Math.min(waitMs, limits.maxWaitMs);
      }
      const id = body.id ?? `q_${randomUUID()}`;
      // Subscribe before submitting so a fast result is not missed.
      const result = waitMs === undefined ? undefined : scheduler.waitForResult(id, waitMs);
      try {
        await scheduler.submitOnline(registered, { id, context: body.context as never });
      } catch (error) {
        if (error instanceof DuplicateQueryError)
          return c.json(errorJson("duplicate-id", error.message), 409);
        throw error;
      }
      const record = await result;
      const stored = await store.getOnlineQuery(id);
      const view = onlineQueryView(stored!, scheduler.isRunning(id));
      if (record) {
        const status = record.ok ? ("completed" as const) : ("failed" as const);
        return c.json({ ...view, status, result: record as never }, 200);
      }
      return c.json(view, 202);
    },
  );
  const IdParam = z.object({ id: z.string().min(1).max(200) });
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/queries/{id}",
      summary: "An online query and, once finished, its result record",
      request: { params: IdParam },
      responses: { 200: json(OnlineQuerySchema, "the query"), 404: errorResponse("no such query") },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const query = await store.getOnlineQuery(id);
      if (!query) return c.json(errorJson("not-found", "no such query"), 404);
      return c.json(onlineQueryView(query, scheduler.isRunning(id)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/queries/{id}/events",
      summary: "Server-sent events of an online query: queued, started, operator-started/finished, result",
      request: { params: IdParam },
      responses: {
        200: { content: { "text/event-stream": { schema: z.string() } }, description: "SSE stream" },
        404: errorResponse("no such query"),
      },
    }),
    // Answers outside the declared JSON shapes (raw bodies, streams, several error shapes).
    rawHandler(async (c) => {
      const id = c.req.param("id") ?? "";
      const subscription = hub.subscribe(`query:${id}`);
      const query = await store.getOnlineQuery(id);
      if (!query) {
        subscription.close();
        return c.json(errorJson("not-found", "no such query"), 404);
      }
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => subscription.close());
        const view = onlineQueryView(query, scheduler.isRunning(id));
        if (query.result) {
          await stream.writeSSE({ event: "result", data: JSON.stringify(query.result) });
          subscription.close();
          return;
        }
        await stream.writeSSE({ event: "status", data: JSON.stringify(view) });
        for await (const event of subscription) {
          await stream.writeSSE({ event: event.type, data: JSON.stringify(event.data) });
          if (event.type === "result") break;
        }
        subscription.close();
      });
    }),
  );

  // ------------------------------------------------------------ batches
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/batches",
      summary:
        "Create a batch job: the body is the query file (JSONL, CSV or Parquet), streamed to the store",
      request: {
        query: z.object({
          workflow: z.string().min(1).openapi({ description: "A registered workflow's name" }),
          format: z
            .enum(UPLOAD_FORMATS)
            .optional()
            .openapi({ description: "Default: from Content-Type, else jsonl" }),
          metadata: z.string().optional().openapi({ description: "A JSON object kept with the batch" }),
        }),
        body: {
          required: true,
          content: {
            "application/x-ndjson": { schema: z.string() },
            "text/csv": { schema: z.string() },
            "application/vnd.apache.parquet": { schema: z.string().openapi({ format: "binary" }) },
          },
        },
      },
      responses: {
        201: json(BatchSchema, "created: all queries stored, status in_progress"),
        404: errorResponse("no such workflow"),
        413: errorResponse("the file is larger than the upload limit"),
        422: json(BatchSchema, "the file has problems (status failed, errors listed)"),
        429: errorResponse("too many unfinished batch jobs (see Retry-After)"),
      },
    }),
    // Answers outside the declared JSON shapes (raw bodies, streams, several error shapes).
    rawHandler(async (c) => {
      const { workflow: name, format: givenFormat, metadata: metadataText } = validQuery(c);
      const registered = await registry.get(name);
      if (!registered) return c.json(errorJson("not-found", `no workflow named "${name}"`), 404);
      if (scheduler.activeBatchCount() >= limits.maxActiveBatches) {
        metrics.reject("queue-full");
        c.header("Retry-After", "30");
        return c.json(
          errorJson("queue-full", `${limits.maxActiveBatches} batch jobs are unfinished already`),
          429,
        );
      }
      let metadata: Record<string, unknown> = {};
      if (metadataText !== undefined) {
        try {
          const parsed = JSON.parse(metadataText) as unknown;
          if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
            throw new Error("not an object");
          metadata = parsed as Record<string, unknown>;
        } catch (error) {
          return c.json(
            errorJson("invalid-request", `metadata: expected a JSON object (${(error as Error).message})`),
            422,
          );
        }
      }
      const declared = Number(c.req.header("content-length") ?? "0");
      if (declared > limits.maxUploadBytes) throw new BodyTooLargeError(limits.maxUploadBytes);
      const format = givenFormat ?? formatOfContentType(c.req.header("content-type"));
      const id = `batch_${randomUUID().replaceAll("-", "")}`;
      await store.createBatch({
        id,
        workflow: name,
        inputFormat: format,
        metadata: metadata as never,
        createdAt: nowSeconds(),
      });
      const body =
        c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
      let upload: Awaited<ReturnType<typeof ingestBatchUpload>>;
      try {
        upload = await ingestBatchUpload({
          store,
          batchId: id,
          workflow: registered.workflow,
          format,
          body,
          maxBytes: limits.maxUploadBytes,
          maxQueries: limits.maxBatchQueries,
          spoolDirectory: context.spoolDirectory,
        });
      } catch (error) {
        const message =
          error instanceof BodyTooLargeError ? error.message : `upload failed: ${(error as Error).message}`;
        await store.deleteBatchQueries(id);
        await store.setBatchStatus(id, {
          status: "failed",
          atSeconds: nowSeconds(),
          errors: [
            { code: error instanceof BodyTooLargeError ? "body-too-large" : "upload-failed", message },
          ],
        });
        throw error;
      }
      if (!upload.ok) {
        await store.setBatchStatus(id, { status: "failed", atSeconds: nowSeconds(), errors: upload.errors });
        const failed = await store.getBatch(id);
        hub.publish("server", { type: "batch", data: failed });
        return c.json(batchView(failed!), 422);
      }
      await store.setBatchStatus(id, { status: "in_progress", atSeconds: nowSeconds(), total: upload.total });
      const batch = (await store.getBatch(id))!;
      scheduler.activate(batch);
      hub.publish("server", { type: "batch", data: batch });
      return c.json(batchView(batch), 201);
    }),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/batches",
      summary: "Batch jobs, newest first",
      request: { query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }) },
      responses: {
        200: json(z.object({ object: z.literal("list"), data: z.array(BatchSchema) }), "batches"),
      },
    }),
    async (c) => {
      const { limit } = c.req.valid("query");
      const batches = await store.listBatches(limit);
      return c.json({ object: "list" as const, data: batches.map(batchView) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/batches/{id}",
      summary: "A batch job",
      request: { params: IdParam },
      responses: { 200: json(BatchSchema, "the batch"), 404: errorResponse("no such batch") },
    }),
    async (c) => {
      const batch = await store.getBatch(c.req.valid("param").id);
      if (!batch) return c.json(errorJson("not-found", "no such batch"), 404);
      return c.json(batchView(batch), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/batches/{id}/cancel",
      summary: "Cancel a batch job (results already written stay)",
      request: { params: IdParam },
      responses: {
        200: json(BatchSchema, "cancelling or cancelled"),
        404: errorResponse("no such batch"),
        409: errorResponse("the batch has finished"),
      },
    }),
    async (c) => {
      const batch = await store.getBatch(c.req.valid("param").id);
      if (!batch) return c.json(errorJson("not-found", "no such batch"), 404);
      if (TERMINAL_BATCH_STATUSES.has(batch.status) || batch.status === "cancelling") {
        return c.json(errorJson("conflict", `the batch is ${batch.status}`), 409);
      }
      await scheduler.cancel(batch);
      return c.json(batchView((await store.getBatch(batch.id))!), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/batches/{id}/results",
      summary: "The results so far, one JSON record per line in upload order (as `halo run` writes them)",
      request: { params: IdParam },
      responses: {
        200: { content: { "application/x-ndjson": { schema: z.string() } }, description: "JSONL, streamed" },
        404: errorResponse("no such batch"),
      },
    }),
    // Answers outside the declared JSON shapes (raw bodies, streams, several error shapes).
    rawHandler(async (c) => {
      const id = c.req.param("id") ?? "";
      const batch = await store.getBatch(id);
      if (!batch) return c.json(errorJson("not-found", "no such batch"), 404);
      let afterSeq = -1;
      const encoder = new TextEncoder();
      // Pulled page by page: the response never holds more than one page of records.
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const page = await store.batchResults(id, afterSeq, 500);
          if (page.length === 0) {
            controller.close();
            return;
          }
          afterSeq = page[page.length - 1]!.seq;
          controller.enqueue(
            encoder.encode(page.map((entry) => `${JSON.stringify(entry.record)}\n`).join("")),
          );
        },
      });
      return new Response(stream, { status: 200, headers: { "Content-Type": "application/x-ndjson" } });
    }),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/batches/{id}/events",
      summary: "Server-sent progress events of a batch job (event `progress`, data: the batch)",
      request: { params: IdParam },
      responses: {
        200: { content: { "text/event-stream": { schema: z.string() } }, description: "SSE stream" },
        404: errorResponse("no such batch"),
      },
    }),
    // Answers outside the declared JSON shapes (raw bodies, streams, several error shapes).
    rawHandler(async (c) => {
      const id = c.req.param("id") ?? "";
      const subscription = hub.subscribe(`batch:${id}`);
      const batch = await store.getBatch(id);
      if (!batch) {
        subscription.close();
        return c.json(errorJson("not-found", "no such batch"), 404);
      }
      return streamSSE(c, async (stream) => {
        stream.onAbort(() => subscription.close());
        await stream.writeSSE({ event: "progress", data: JSON.stringify(batchView(batch)) });
        if (TERMINAL_BATCH_STATUSES.has(batch.status)) {
          subscription.close();
          return;
        }
        for await (const event of subscription) {
          const current = event.data as Parameters<typeof batchView>[0];
          await stream.writeSSE({ event: "progress", data: JSON.stringify(batchView(current)) });
          if (TERMINAL_BATCH_STATUSES.has(current.status)) break;
        }
        subscription.close();
      });
    }),
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/batches/{id}/plan",
      summary:
        "The execution plan of the batch's chunks (JSON with the actual per-operator timeline, or a Gantt SVG)",
      request: { params: IdParam, query: z.object({ format: z.enum(["json", "svg"]).default("json") }) },
      responses: {
        200: json(
          z.object({
            plan: z.record(z.string(), z.unknown()),
            actual: z.array(z.record(z.string(), z.unknown())),
          }),
          "plan",
        ),
        404: errorResponse("no such batch, or nothing left to plan"),
      },
    }),
    // Answers outside the declared JSON shapes (raw bodies, streams, several error shapes).
    rawHandler(async (c) => {
      const id = c.req.param("id") ?? "";
      const format = c.req.query("format") === "svg" ? "svg" : "json";
      const batch = await store.getBatch(id);
      if (!batch) return c.json(errorJson("not-found", "no such batch"), 404);
      const plan = scheduler.batchPlan(id) ?? (await scheduler.planBatchPreview(batch));
      if (!plan)
        return c.json(
          errorJson(
            "not-found",
            "the batch has no plan: it ran before this server started and has no query left",
          ),
          404,
        );
      if (format === "svg") {
        return c.body(planToGanttSvg(plan), 200, { "Content-Type": "image/svg+xml" });
      }
      return c.json({ plan, actual: scheduler.batchTimeline(id) }, 200);
    }),
  );

  // ------------------------------------------------------------ executors and the dashboard feed
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/executors",
      summary: "Executors: address, loaded models, utilization",
      responses: {
        200: json(z.object({ object: z.literal("list"), data: z.array(ExecutorSchema) }), "executors"),
      },
    }),
    async (c) => c.json({ object: "list" as const, data: await context.executors() }, 200),
  );
  app.get("/v1/events", (c) => {
    const subscription: Subscription = hub.subscribe("server");
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => subscription.close());
      await stream.writeSSE({ event: "online", data: JSON.stringify(scheduler.onlineFigures()) });
      for await (const event of subscription) {
        const data =
          event.type === "batch" ? batchView(event.data as Parameters<typeof batchView>[0]) : event.data;
        await stream.writeSSE({ event: event.type, data: JSON.stringify(data) });
      }
    });
  });

  return app;
}

/** The batch-creation query, validated by the route's schema before the handler runs. */
function validQuery(c: Context): { workflow: string; format?: UploadFormat; metadata?: string } {
  const format = c.req.query("format") as UploadFormat | undefined;
  const metadata = c.req.query("metadata");
  return {
    workflow: c.req.query("workflow") ?? "",
    ...(format === undefined ? {} : { format }),
    ...(metadata === undefined ? {} : { metadata }),
  };
}

function formatOfContentType(contentType: string | undefined): UploadFormat {
  const type = (contentType ?? "").toLowerCase();
  if (type.includes("csv")) return "csv";
  if (type.includes("parquet")) return "parquet";
  return "jsonl";
}

function workflowView(registered: NonNullable<Awaited<ReturnType<WorkflowRegistry["get"]>>>) {
  const { stored, workflow, warnings } = registered;
  return {
    name: stored.name,
    format: stored.format,
    created_at: stored.createdAt,
    updated_at: stored.updatedAt,
    source: stored.source,
    summary: summaryLine(workflow),
    explanation: JSON.parse(JSON.stringify(explainWorkflow(workflow, { warnings }))) as Record<
      string,
      unknown
    >,
    warnings: warnings.map((warning) => ({
      code: warning.code,
      message: warning.message,
      path: warning.source.path,
    })),
  };
}
