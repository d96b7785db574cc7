/**
 * Queries whose prompt cannot fit any worker. One such query must not make
 * the whole batch unplannable (its tokens would dominate the operator's
 * statistics and no epoch could hold it): it fails alone, with
 * `prompt-too-long`, before planning, and the rest of the batch is planned
 * without it. What is known before running is checked: each LLM prompt is
 * rendered from the query's context, pure processors are run, and outputs only
 * known at run time (tools, other LLM calls) count as empty — so the check
 * never rejects a prompt that could fit (a longer one still fails at the
 * executor, for that query alone).
 */
import {
  type CompiledWorkflow,
  countTokens,
  type JsonObject,
  type LlmOperator,
  processorRegistry,
  type QueryContext,
} from "@halo/ir";
import {
  inputScope,
  operatorInputs,
  operatorScope,
  renderOperatorRequest,
  runProcessor,
} from "@halo/ir/internal";
import { type DeviceProfile, deriveModelProfile } from "@halo/profiles";
import type { PlanningWorker } from "./planning-problem.js";

/** The error code a rejected query's record carries, as executors report it. */
export const PROMPT_TOO_LONG = "prompt-too-long";

/** A query whose prompt fits no worker. */
export interface OversizedPrompt {
  readonly queryId: string;
  readonly operator: string;
  readonly model: string;
  /** Tokens of the part of the prompt known before running, counted until past the limit. */
  readonly promptTokens: number;
  readonly maxTokens: number;
  /** `prompt-too-long: …`, naming the operator, model and limits. */
  readonly message: string;
}

/** Options of `findOversizedPrompts`. */
export interface OversizedPromptOptions {
  readonly workflow: CompiledWorkflow;
  readonly queries: readonly QueryContext[];
  readonly workers: readonly PlanningWorker[];
  /** Token counter (default: the LLaMA-2 vocabulary of `@halo/ir`). */
  readonly countTokens?: (text: string) => number;
}

/** Tokens an engine may add around a prompt (chat template, BOS): the byte bound below stays an upper bound. */
const TEMPLATE_TOKENS = 64;

/**
 * No token of the LLaMA-2 vocabulary is longer than 24 UTF-8 bytes (checked
 * over all 32,000 pieces); 32 leaves room for other vocabularies' word pieces.
 */
const MAX_TOKEN_BYTES = 32;

/** Characters whose tokens estimate a long prompt's length. */
const SAMPLE_CHARS = 2_048;

/** Characters per piece a long prompt is counted in (the tokenizer is slow on very long strings). */
const PIECE_CHARS = 4_096;

/** Tokens of `text`, counted piece by piece (cut before whitespace), stopping once past `limit`. */
function countUpTo(text: string, limit: number, count: (text: string) => number): number {
  let tokens = 0;
  for (let start = 0; start < text.length && tokens <= limit * 1.1; ) {
    let end = Math.min(text.length, start + PIECE_CHARS);
    if (end < text.length) {
      const space = text.lastIndexOf(" ", end);
      if (space > start) end = space;
    }
    tokens += count(text.slice(start, end));
    start = end;
  }
  return tokens;
}

/** The largest prompt (tokens, generation included) a worker's device holds for a model, or undefined. */
function capacityOf(profile: DeviceProfile, model: string): number | undefined {
  const entry = Object.hasOwn(profile.models, model)
    ? profile.models[model]
    : deriveModelProfile(profile, model);
  if (!entry) return undefined;
  const memoryTokens = Math.floor(
    (profile.memoryBytes - entry.weightsBytes) / Math.max(1, entry.kvBytesPerToken),
  );
  return Math.min(entry.contextLength, memoryTokens);
}

/**
 * Every query with an LLM prompt that fits no worker (context length, or
 * memory beside the model's weights), its first such operator each. Costs one
 * rendering per query and LLM operator; tokens are counted only for prompts
 * whose byte length could exceed a worker's capacity.
 */
export function findOversizedPrompts(options: OversizedPromptOptions): OversizedPrompt[] {
  const { workflow } = options;
  const count = options.countTokens ?? countTokens;
  const llm = workflow.operators.filter((operator): operator is LlmOperator => operator.kind === "llm");
  if (llm.length === 0 || options.workers.length === 0) return [];
  // The best capacity over the workers, per model (a model no profile can price is the estimator's error).
  const capacity = new Map<string, number>();
  for (const operator of llm) {
    if (capacity.has(operator.model)) continue;
    let best: number | undefined;
    for (const worker of options.workers) {
      const tokens = capacityOf(worker.profile, operator.model);
      if (tokens !== undefined) best = Math.max(best ?? 0, tokens);
    }
    if (best !== undefined) capacity.set(operator.model, best);
  }
  const oversized: OversizedPrompt[] = [];
  for (const query of options.queries) {
    const found = firstOversized(workflow, query, capacity, count);
    if (found) oversized.push(found);
  }
  return oversized;
}

function firstOversized(
  workflow: CompiledWorkflow,
  query: QueryContext,
  capacity: ReadonlyMap<string, number>,
  count: (text: string) => number,
): OversizedPrompt | undefined {
  const scopes = new Map<string, JsonObject>([[workflow.inputOperator, inputScope(workflow, query.context)]]);
  for (const operator of workflow.operators) {
    if (operator.kind === "input") continue;
    let inputs: JsonObject = {};
    try {
      inputs = operatorInputs(workflow, operator.id, scopes);
    } catch {
      // A mapping that reads a run-time output: leave the operator's inputs unknown.
    }
    // Outputs known only at run time count as empty, so every length here is a lower bound.
    let outputs: JsonObject = Object.fromEntries(operator.outputs.map((name) => [name, ""]));
    if (operator.kind === "processor" && processorRegistry.get(operator.processor)?.pure !== false) {
      try {
        outputs = runProcessor(operator, inputs);
      } catch {
        // Fails at run time for this query, with its own message.
      }
    }
    scopes.set(operator.id, operatorScope(inputs, outputs));
    if (operator.kind !== "llm") continue;
    const limit = capacity.get(operator.model);
    if (limit === undefined) continue;
    let text: string;
    try {
      const request = renderOperatorRequest(operator, inputs);
      if (request.kind !== "llm") continue;
      text = request.prefix + request.suffix;
    } catch {
      continue;
    }
    const bytes = Buffer.byteLength(text, "utf8");
    // A token is at least one byte: a prompt this short fits without counting its tokens.
    if (bytes + TEMPLATE_TOKENS + operator.maxTokens <= limit) continue;
    let promptTokens: number;
    if (bytes / MAX_TOKEN_BYTES > limit) {
      // So long that even tokens of the vocabulary's longest piece would not fit: no need to count.
      promptTokens = Math.ceil(bytes / MAX_TOKEN_BYTES);
    } else {
      // The tokenizer is slow on long text: count only prompts a sample puts near the limit.
      const sample = text.slice(0, SAMPLE_CHARS);
      const estimated = (count(sample) * text.length) / Math.max(1, sample.length);
      if (estimated + operator.maxTokens < limit * 0.8) continue;
      promptTokens = countUpTo(text, limit, count);
      // Counting in pieces may add a token at a cut: a 5 % margin keeps fitting prompts in.
      if (promptTokens * 0.95 + operator.maxTokens <= limit) continue;
    }
    return {
      queryId: query.id,
      operator: operator.id,
      model: operator.model,
      promptTokens,
      maxTokens: operator.maxTokens,
      message:
        `${PROMPT_TOO_LONG}: operator "${operator.id}": about ${promptTokens}${promptTokens > limit ? "+" : ""} prompt tokens + ${operator.maxTokens} max tokens ` +
        `exceed what any worker holds for model "${operator.model}" (${limit} tokens: context length and memory)`,
    };
  }
  return undefined;
}
