import {
  type BatchFigures,
  ErrorCode,
  FinishReason,
  type GenerateEvent,
  type GenerateItem,
  type GenerateRequest,
  type ItemFigures,
} from "./generated/halo/executor/v1/executor.js";

/** Why an item or a call failed; the same codes as the engine contract's `EngineErrorCode`. */
export type ExecutorErrorCode =
  | "unknown-model"
  | "prompt-too-long"
  | "invalid-json-schema"
  | "invalid-kv"
  | "over-limits"
  | "not-found"
  | "unsupported"
  | "internal";

/** One item of a Generate batch, as a caller writes it. */
export interface GenerateItemInput {
  /** Unique within the call. */
  readonly id: string;
  /** The per-item part of the prompt (appended to the shared prefix). */
  readonly prompt: string;
  readonly maxTokens: number;
  /** 0 (the default) means greedy. */
  readonly temperature?: number;
  /** In (0, 1]; default 1. */
  readonly topP?: number;
  readonly seed?: number;
  /** A JSON schema (serialized) the output must follow. */
  readonly jsonSchema?: string;
}

/** A Generate batch: one model, an optional shared prefix, many items. */
export interface GenerateInput {
  readonly model: string;
  readonly sharedPrefix?: { readonly key: string; readonly text: string };
  readonly items: readonly GenerateItemInput[];
  /** Stream one `token` event per generated token (default false: only finished events). */
  readonly streamTokens?: boolean;
}

/** What a Generate call streams, as a discriminated union. */
export type ExecutorEvent =
  | { readonly type: "token"; readonly itemId: string; readonly text: string }
  | {
      readonly type: "item-finished";
      readonly itemId: string;
      readonly text: string;
      readonly finishReason: "stop" | "length";
      readonly figures: ItemFigures;
    }
  | {
      readonly type: "item-failed";
      readonly itemId: string;
      readonly code: ExecutorErrorCode;
      readonly message: string;
    }
  | { readonly type: "batch-finished"; readonly figures: BatchFigures };

const WIRE_CODES: Readonly<Record<ExecutorErrorCode, ErrorCode>> = {
  "unknown-model": ErrorCode.ERROR_CODE_UNKNOWN_MODEL,
  "prompt-too-long": ErrorCode.ERROR_CODE_PROMPT_TOO_LONG,
  "invalid-json-schema": ErrorCode.ERROR_CODE_INVALID_JSON_SCHEMA,
  "invalid-kv": ErrorCode.ERROR_CODE_INVALID_KV,
  "over-limits": ErrorCode.ERROR_CODE_OVER_LIMITS,
  "not-found": ErrorCode.ERROR_CODE_NOT_FOUND,
  unsupported: ErrorCode.ERROR_CODE_UNSUPPORTED,
  internal: ErrorCode.ERROR_CODE_INTERNAL,
};

/** The wire enum value of an error code. */
export function errorCodeToWire(code: ExecutorErrorCode): ErrorCode {
  return WIRE_CODES[code];
}

/** The error code of a wire enum value (`internal` for values this version does not know). */
export function errorCodeFromWire(code: ErrorCode): ExecutorErrorCode {
  for (const [name, value] of Object.entries(WIRE_CODES)) {
    if (value === code) return name as ExecutorErrorCode;
  }
  return "internal";
}

const EMPTY_ITEM_FIGURES: ItemFigures = {
  promptTokens: 0,
  cachedTokens: 0,
  generatedTokens: 0,
  prefillMs: 0,
  decodeMs: 0,
  queueMs: 0,
};

const EMPTY_BATCH_FIGURES: BatchFigures = {
  items: 0,
  promptTokens: 0,
  cachedTokens: 0,
  generatedTokens: 0,
  prefillMs: 0,
  decodeMs: 0,
  queueMs: 0,
  loadMs: 0,
  engineBatches: 0,
  largestBatchSize: 0,
  prefixPrefilledTokens: 0,
  wallMs: 0,
};

/** Converts a wire GenerateEvent into an ExecutorEvent; undefined for an empty (unknown) event. */
export function eventFromWire(event: GenerateEvent): ExecutorEvent | undefined {
  const payload = event.event;
  switch (payload?.$case) {
    case "token":
      return { type: "token", itemId: payload.token.itemId, text: payload.token.text };
    case "itemFinished":
      return {
        type: "item-finished",
        itemId: payload.itemFinished.itemId,
        text: payload.itemFinished.text,
        finishReason:
          payload.itemFinished.finishReason === FinishReason.FINISH_REASON_LENGTH ? "length" : "stop",
        figures: payload.itemFinished.figures ?? EMPTY_ITEM_FIGURES,
      };
    case "itemFailed":
      return {
        type: "item-failed",
        itemId: payload.itemFailed.itemId,
        code: errorCodeFromWire(payload.itemFailed.code),
        message: payload.itemFailed.message,
      };
    case "batchFinished":
      return { type: "batch-finished", figures: payload.batchFinished.figures ?? EMPTY_BATCH_FIGURES };
    default:
      return undefined;
  }
}

/** Converts an ExecutorEvent into its wire form. */
export function eventToWire(event: ExecutorEvent): GenerateEvent {
  switch (event.type) {
    case "token":
      return { event: { $case: "token", token: { itemId: event.itemId, text: event.text } } };
    case "item-finished":
      return {
        event: {
          $case: "itemFinished",
          itemFinished: {
            itemId: event.itemId,
            text: event.text,
            finishReason:
              event.finishReason === "length"
                ? FinishReason.FINISH_REASON_LENGTH
                : FinishReason.FINISH_REASON_STOP,
            figures: roundCounts(event.figures),
          },
        },
      };
    case "item-failed":
      return {
        event: {
          $case: "itemFailed",
          itemFailed: { itemId: event.itemId, code: errorCodeToWire(event.code), message: event.message },
        },
      };
    case "batch-finished":
      return { event: { $case: "batchFinished", batchFinished: { figures: roundCounts(event.figures) } } };
  }
}

/** int64 wire fields must carry integers; token counts are integral anyway, this guards figures. */
function roundCounts<T extends ItemFigures | BatchFigures>(figures: T): T {
  return {
    ...figures,
    promptTokens: Math.round(figures.promptTokens),
    cachedTokens: Math.round(figures.cachedTokens),
    generatedTokens: Math.round(figures.generatedTokens),
    ...("prefixPrefilledTokens" in figures
      ? { prefixPrefilledTokens: Math.round(figures.prefixPrefilledTokens) }
      : {}),
  };
}

/** Converts a caller's GenerateInput into the wire request (defaults filled in). */
export function generateRequestToWire(input: GenerateInput): GenerateRequest {
  return {
    model: input.model,
    sharedPrefix: input.sharedPrefix
      ? { key: input.sharedPrefix.key, text: input.sharedPrefix.text }
      : undefined,
    items: input.items.map(
      (item): GenerateItem => ({
        id: item.id,
        prompt: item.prompt,
        maxTokens: item.maxTokens,
        temperature: item.temperature ?? 0,
        topP: item.topP,
        seed: item.seed ?? 0,
        jsonSchema: item.jsonSchema,
      }),
    ),
    streamTokens: input.streamTokens ?? false,
  };
}
