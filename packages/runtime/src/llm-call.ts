import type { LlmOperator, OperatorRequest } from "@halo/ir";
import type { GenerateItemInput } from "@halo/protocol";
import type { QueryRun } from "./query-run.js";

/** The rendered request of an LLM operator instance. */
export type LlmRequest = Extract<OperatorRequest, { kind: "llm" }>;

/** An operator instance waiting for (or served by) an LLM call. */
export interface LlmConsumer {
  readonly run: QueryRun;
  readonly operator: LlmOperator;
  /** When the instance joined the call (ms since the run started). */
  readonly joinedMs: number;
  /** Joined a call another instance created (identical request). */
  readonly coalesced: boolean;
}

/**
 * One distinct LLM request: a Generate item served to every consumer. With
 * coalescing, identical deterministic requests share one call.
 */
export interface LlmCall {
  /** Unique in the run; the Generate item id. */
  readonly id: string;
  /** The coalescing key (absent when the call is not shared). */
  readonly key: string | undefined;
  /** The operator whose queue (and planned workers) the call belongs to. */
  readonly operator: LlmOperator;
  readonly request: LlmRequest;
  readonly consumers: LlmConsumer[];
  /** When its first consumer became ready (ms since the run started). */
  readonly readyMs: number;
  /** Failed attempts so far (transient failures on a live executor). */
  attempts: number;
  state: "queued" | "running" | "done" | "failed" | "dropped";
  startedMs?: number;
  /** The generated text, once done (served to consumers that join later). */
  text?: string;
  /** The worker that answered it. */
  worker?: string;
}

/** Whether any consumer's query still waits for the call. */
export function isCallLive(call: LlmCall): boolean {
  return call.consumers.some((consumer) => !consumer.run.finished);
}

/** The Generate item of a call: the suffix alone when the prefix is shared, else the whole prompt. */
export function generateItemOf(call: LlmCall, sharePrefix: boolean): GenerateItemInput {
  const { request } = call;
  return {
    id: call.id,
    prompt: sharePrefix ? request.suffix : request.prefix + request.suffix,
    maxTokens: request.maxTokens,
    temperature: request.temperature,
    topP: request.topP,
    seed: request.seed,
    ...(request.jsonSchema ? { jsonSchema: JSON.stringify(request.jsonSchema) } : {}),
  };
}

/**
 * Upper estimate of the tokens a call occupies in an engine batch (prompt +
 * generation), at 3 characters a token like the sidecar's own planner.
 */
export function estimatedCallTokens(call: LlmCall): number {
  return Math.ceil((call.request.prefix.length + call.request.suffix.length) / 3) + call.request.maxTokens;
}
