/**
 * The zod schemas of the HTTP API (request parameters and response bodies),
 * from which `/openapi.json` is generated, and the conversions from the
 * store's types to the wire shapes (snake_case, as the OpenAI Batch API).
 */
import { z } from "@hono/zod-openapi";
import type { BatchJob, OnlineQuery } from "./store/server-store.js";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "not-found" }),
      message: z.string(),
    }),
    problems: z
      .array(
        z.object({
          code: z.string(),
          message: z.string(),
          file: z.string().optional(),
          path: z.string().optional(),
          line: z.number().optional(),
          column: z.number().optional(),
        }),
      )
      .optional()
      .openapi({ description: "Every problem of an invalid workflow, as `halo validate` lists them" }),
    text: z.string().optional().openapi({ description: "The problem list as `halo validate` prints it" }),
  })
  .openapi("Error");

export const WorkflowSummarySchema = z
  .object({
    name: z.string(),
    format: z.enum(["yaml", "json"]),
    created_at: z.number(),
    updated_at: z.number(),
  })
  .openapi("WorkflowSummary");

export const WorkflowSchema = WorkflowSummarySchema.extend({
  source: z.string(),
  summary: z.string(),
  explanation: z
    .record(z.string(), z.unknown())
    .openapi({ description: "`halo explain --format json`'s view" }),
  warnings: z.array(z.object({ code: z.string(), message: z.string(), path: z.string().optional() })),
}).openapi("Workflow");

export const OperatorTimingSchema = z.object({
  startMs: z.number(),
  endMs: z.number(),
  worker: z.string().optional(),
  cached: z.boolean().optional(),
  coalesced: z.boolean().optional(),
});

export const ResultRecordSchema = z
  .object({
    id: z.string(),
    ok: z.boolean(),
    outputs: z.record(z.string(), z.unknown()),
    operators: z.record(z.string(), OperatorTimingSchema),
    error: z.object({ operator: z.string(), message: z.string() }).optional(),
  })
  .openapi("ResultRecord");

export const OnlineQuerySchema = z
  .object({
    id: z.string(),
    object: z.literal("query"),
    workflow: z.string(),
    status: z.enum(["queued", "running", "completed", "failed"]),
    created_at: z.number(),
    finished_at: z.number().optional(),
    result: ResultRecordSchema.optional(),
  })
  .openapi("OnlineQuery");

export const QuerySubmissionSchema = z
  .object({
    id: z.string().min(1).max(200).optional().openapi({ description: "Default: a generated id" }),
    context: z.record(z.string(), z.unknown()).openapi({ description: "The query's input fields" }),
  })
  .openapi("QuerySubmission");

export const BatchSchema = z
  .object({
    id: z.string(),
    object: z.literal("batch"),
    endpoint: z.string(),
    workflow: z.string(),
    input_format: z.string(),
    status: z.enum([
      "validating",
      "in_progress",
      "finalizing",
      "completed",
      "failed",
      "cancelling",
      "cancelled",
    ]),
    errors: z
      .object({
        object: z.literal("list"),
        data: z.array(
          z.object({
            code: z.string(),
            message: z.string(),
            line: z.number().optional(),
            param: z.string().optional(),
          }),
        ),
      })
      .nullable(),
    request_counts: z.object({ total: z.number(), completed: z.number(), failed: z.number() }),
    metadata: z.record(z.string(), z.unknown()),
    created_at: z.number(),
    in_progress_at: z.number().nullable(),
    finalizing_at: z.number().nullable(),
    completed_at: z.number().nullable(),
    failed_at: z.number().nullable(),
    cancelling_at: z.number().nullable(),
    cancelled_at: z.number().nullable(),
  })
  .openapi("Batch");

export const ExecutorSchema = z
  .object({
    worker: z.string(),
    address: z.string(),
    alive: z.boolean(),
    models: z.array(z.object({ name: z.string(), loaded: z.boolean() })),
    busy_ms: z.number(),
    utilization: z.number().openapi({ description: "Busy share since the server started" }),
  })
  .openapi("Executor");

/** The wire shape of a batch. */
export function batchView(batch: BatchJob): z.infer<typeof BatchSchema> {
  return {
    id: batch.id,
    object: "batch",
    endpoint: `/v1/workflows/${batch.workflow}/queries`,
    workflow: batch.workflow,
    input_format: batch.inputFormat,
    status: batch.status,
    errors: batch.errors.length === 0 ? null : { object: "list", data: [...batch.errors] },
    request_counts: { ...batch.requestCounts },
    metadata: batch.metadata,
    created_at: batch.createdAt,
    in_progress_at: batch.inProgressAt ?? null,
    finalizing_at: batch.finalizingAt ?? null,
    completed_at: batch.completedAt ?? null,
    failed_at: batch.failedAt ?? null,
    cancelling_at: batch.cancellingAt ?? null,
    cancelled_at: batch.cancelledAt ?? null,
  };
}

/** The wire shape of an online query (`running` comes from the scheduler). */
export function onlineQueryView(query: OnlineQuery, running: boolean): z.infer<typeof OnlineQuerySchema> {
  return {
    id: query.id,
    object: "query",
    workflow: query.workflow,
    status: query.status === "queued" && running ? "running" : query.status,
    created_at: query.createdAt,
    ...(query.finishedAt === undefined ? {} : { finished_at: query.finishedAt }),
    ...(query.result === undefined ? {} : { result: query.result as z.infer<typeof ResultRecordSchema> }),
  };
}
