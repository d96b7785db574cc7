/**
 * zod schema of the ops dialect (the prototype's first format): `start_ops`,
 * `end_ops`, `ops: {id: {model, prompt, max_tokens, input_ops, output_ops}}`,
 * optional top-level `dataset`, `name`, `column`.
 */
import { z } from "zod";

export const opSpecSchema = z.strictObject({
  model: z.string().min(1),
  prompt: z.string().default(""),
  max_tokens: z.number().int().min(1).default(256),
  temperature: z.number().min(0).max(5).default(0),
  /** As in the prototype's model config: weight quantization (`awq`, `gptq`, …) and dtype; they size the model. */
  quantization: z.string().min(1).optional(),
  dtype: z.string().min(1).optional(),
  input_ops: z.array(z.string().min(1)).default([]),
  output_ops: z.array(z.string().min(1)).default([]),
});

export const opsDocumentSchema = z.strictObject({
  dataset: z.string().optional(),
  /** The dataset's config name (as in the prototype), not the workflow's. */
  name: z.string().optional(),
  column: z.string().min(1).default("text"),
  description: z.string().optional(),
  start_ops: z.array(z.string().min(1)).default([]),
  end_ops: z.array(z.string().min(1)).default([]),
  ops: z.record(z.string(), z.unknown()),
});

export type OpSpec = z.infer<typeof opSpecSchema>;
export type OpsDocumentSpec = z.infer<typeof opsDocumentSchema>;
