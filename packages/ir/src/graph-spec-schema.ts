/**
 * zod schemas of the graph dialect (DESIGN §3): `graph: {name, description,
 * nodes, edges, loops}`. Node entries and tool calls are checked one by one
 * (by `type`) so that one bad node does not hide the problems of the others.
 */
import { z } from "zod";

const nonEmpty = z.string().min(1);
const nameList = z.array(nonEmpty);
/** A templated value; numbers and booleans are accepted as constant text. */
export const templateValueSchema = z.union([z.string(), z.number(), z.boolean()]);
const templateRecord = z.record(z.string(), templateValueSchema);
const milliseconds = z.number().nonnegative();

/** Fields every node has. */
const nodeCommon = {
  id: nonEmpty,
  description: z.string().optional(),
  /** Deployment hint (`vllm`, `sglang`, `http`, …); the deployment decides. */
  engine: z.string().optional(),
  inputs: nameList.default([]),
  outputs: nameList.default([]),
};

/** HTTP request fields shared by `http` nodes and `type: http` tool calls. */
const httpFields = {
  url: z.string().optional(),
  method: z
    .string()
    .transform((method) => method.toUpperCase())
    .pipe(z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]))
    .default("GET"),
  params: templateRecord.default({}),
  headers: templateRecord.default({}),
  body: z.string().optional(),
  latency_s: milliseconds.optional(),
  latency_ms: milliseconds.optional(),
  sleep_s: milliseconds.optional(),
  sleep_ms: milliseconds.optional(),
  timeout_s: milliseconds.optional(),
  timeout_ms: milliseconds.optional(),
  coalesce: z.boolean().default(false),
};

/** SQL fields shared by `db` nodes, `db_queries` entries and `type: db` tool calls. */
const sqlFields = {
  sql: nonEmpty,
  parameters: templateRecord.default({}),
  param_types: z.record(z.string(), z.string()).default({}),
};

/** Processor fields shared by `processor` nodes and `type: processor` tool calls. */
const processorFields = {
  processor: nonEmpty,
  config: z.record(z.string(), z.json()).default({}),
  coalesce: z.boolean().default(false),
};

export const inputNodeSpecSchema = z.strictObject({
  ...nodeCommon,
  type: z.literal("input"),
  outputs: nameList.min(1),
});

/** One `db_queries` entry of an inference node. */
export const dbQuerySpecSchema = z.strictObject({ name: nonEmpty, ...sqlFields });

/** A `tool_calls` entry: `{name, type, …fields of that node type}`; `inputs` defaults as documented. */
export const httpToolCallSpecSchema = z.strictObject({
  name: nonEmpty,
  type: z.literal("http"),
  inputs: nameList.optional(),
  ...httpFields,
});
export const dbToolCallSpecSchema = z.strictObject({
  name: nonEmpty,
  type: z.literal("db"),
  inputs: nameList.optional(),
  ...sqlFields,
});
export const processorToolCallSpecSchema = z.strictObject({
  name: nonEmpty,
  type: z.literal("processor"),
  inputs: nameList.optional(),
  ...processorFields,
});

export const inferenceNodeSpecSchema = z.strictObject({
  ...nodeCommon,
  type: z.literal("inference"),
  model: nonEmpty,
  system_prompt: z.string().default(""),
  prompt: z.string().optional(),
  max_tokens: z.number().int().min(1).default(256),
  temperature: z.number().min(0).max(5).default(0),
  top_p: z.number().gt(0).max(1).default(1),
  seed: z.number().int().default(0),
  /** Order of the inputs the prompt template does not place (default: the graph's `prompt_layout`). */
  prompt_layout: z.enum(["shared-first", "declared"]).optional(),
  /** Weight quantization (`awq`, `gptq`, `int4`, `int8`, `fp8`, as the prototype passes to vLLM); sizes the weights. */
  quantization: nonEmpty.optional(),
  /** Weight dtype (`bf16`, `fp16`, `float16`, …) when the weights are not quantized. */
  dtype: nonEmpty.optional(),
  outputs: nameList.min(1),
  db_queries: z.array(dbQuerySpecSchema).default([]),
  /** Entries are checked one by one against the schema of their `type`. */
  tool_calls: z.array(z.unknown()).default([]),
});

export const httpNodeSpecSchema = z.strictObject({
  ...nodeCommon,
  type: z.literal("http"),
  outputs: nameList.min(1),
  ...httpFields,
});

export const processorNodeSpecSchema = z.strictObject({
  ...nodeCommon,
  type: z.literal("processor"),
  outputs: nameList.min(1),
  ...processorFields,
});

export const dbNodeSpecSchema = z.strictObject({
  ...nodeCommon,
  type: z.literal("db"),
  outputs: nameList.length(1),
  ...sqlFields,
});

/** `edges[]` entries; an absent or empty `mapping` passes names through. */
export const edgeSpecSchema = z.strictObject({
  from: nonEmpty,
  to: nonEmpty,
  mapping: templateRecord.nullable().optional(),
  description: z.string().optional(),
});

/** `loops[]` entries: a bounded loop unrolled into `iterations` copies of `body`. */
export const loopSpecSchema = z.strictObject({
  id: nonEmpty,
  body: nameList.min(1),
  iterations: z.number().int().min(1).max(100),
  feedback: z.array(edgeSpecSchema).default([]),
  initial: z.record(z.string(), z.json()).default({}),
  description: z.string().optional(),
});

/** The document: nodes, edges and loops are checked entry by entry. */
export const graphDocumentSchema = z.strictObject({
  graph: z.strictObject({
    /** Defaults to the file name. */
    name: nonEmpty.optional(),
    description: z.string().default(""),
    /** Default `prompt_layout` of the inference nodes (graph dialect default: shared-first). */
    prompt_layout: z.enum(["shared-first", "declared"]).optional(),
    nodes: z.array(z.unknown()),
    edges: z.array(z.unknown()).default([]),
    loops: z.array(z.unknown()).default([]),
  }),
});

export type InputNodeSpec = z.infer<typeof inputNodeSpecSchema>;
export type InferenceNodeSpec = z.infer<typeof inferenceNodeSpecSchema>;
export type HttpNodeSpec = z.infer<typeof httpNodeSpecSchema>;
export type ProcessorNodeSpec = z.infer<typeof processorNodeSpecSchema>;
export type DbNodeSpec = z.infer<typeof dbNodeSpecSchema>;
export type NodeSpec = InputNodeSpec | InferenceNodeSpec | HttpNodeSpec | ProcessorNodeSpec | DbNodeSpec;
export type DbQuerySpec = z.infer<typeof dbQuerySpecSchema>;
export type HttpToolCallSpec = z.infer<typeof httpToolCallSpecSchema>;
export type DbToolCallSpec = z.infer<typeof dbToolCallSpecSchema>;
export type ProcessorToolCallSpec = z.infer<typeof processorToolCallSpecSchema>;
export type ToolCallSpec = HttpToolCallSpec | DbToolCallSpec | ProcessorToolCallSpec;
export type EdgeSpec = z.infer<typeof edgeSpecSchema>;
export type LoopSpec = z.infer<typeof loopSpecSchema>;
/** HTTP fields as parsed (node or tool call). */
export type HttpFieldsSpec = Pick<
  HttpNodeSpec,
  | "url"
  | "method"
  | "params"
  | "headers"
  | "body"
  | "latency_s"
  | "latency_ms"
  | "sleep_s"
  | "sleep_ms"
  | "timeout_s"
  | "timeout_ms"
  | "coalesce"
>;

/** Node types of the graph dialect and their schemas. */
export const NODE_SCHEMAS = {
  input: inputNodeSpecSchema,
  inference: inferenceNodeSpecSchema,
  http: httpNodeSpecSchema,
  processor: processorNodeSpecSchema,
  db: dbNodeSpecSchema,
} as const;

export type NodeType = keyof typeof NODE_SCHEMAS;

/** Tool call types and their schemas. */
export const TOOL_CALL_SCHEMAS = {
  http: httpToolCallSpecSchema,
  db: dbToolCallSpecSchema,
  processor: processorToolCallSpecSchema,
} as const;
