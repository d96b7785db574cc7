import type { GenerateRequest } from "@halo/protocol";
import type { EngineModelDescriptor, GenerateItem, SharedPrefix } from "./engine-v1.js";

/** A Generate request that passed validation, in engine terms. */
export interface ValidGenerateRequest {
  readonly model: string;
  readonly sharedPrefix?: SharedPrefix;
  readonly items: readonly GenerateItem[];
  readonly streamTokens: boolean;
}

/** Why a request is malformed, and whether it names an unknown model (NOT_FOUND) or is invalid. */
export type GenerateRequestProblem =
  | { readonly kind: "unknown-model"; readonly message: string }
  | { readonly kind: "invalid"; readonly message: string };

/**
 * Checks the shape of a Generate request before it is queued: the model is
 * known, items exist with unique ids, and every number is in range. Content
 * problems an engine finds (a prompt too long for its tokenizer, a schema
 * it cannot compile) fail single items later instead.
 */
export function validateGenerateRequest(
  request: GenerateRequest,
  models: readonly EngineModelDescriptor[],
): ValidGenerateRequest | GenerateRequestProblem {
  if (request.model === "") return { kind: "invalid", message: "Generate: model is required" };
  const model = models.find((descriptor) => descriptor.name === request.model);
  if (!model) {
    const served = models.map((descriptor) => `"${descriptor.name}"`).join(", ");
    return {
      kind: "unknown-model",
      message: `unknown model "${request.model}"; this executor serves ${served}`,
    };
  }
  if (request.items.length === 0)
    return { kind: "invalid", message: "Generate: a request needs at least one item" };
  const prefix = request.sharedPrefix;
  if (prefix && (prefix.key === "" || prefix.text === "")) {
    return { kind: "invalid", message: "Generate: shared_prefix needs a non-empty key and text" };
  }
  const ids = new Set<string>();
  const items: GenerateItem[] = [];
  for (const [index, item] of request.items.entries()) {
    const where = `Generate: item ${index}${item.id ? ` ("${item.id}")` : ""}`;
    if (item.id === "") return { kind: "invalid", message: `${where}: id is required` };
    if (ids.has(item.id)) return { kind: "invalid", message: `${where}: duplicate item id` };
    ids.add(item.id);
    if (!(item.maxTokens >= 1))
      return { kind: "invalid", message: `${where}: max_tokens must be at least 1` };
    if (item.maxTokens > model.contextLength) {
      return {
        kind: "invalid",
        message: `${where}: max_tokens ${item.maxTokens} exceeds the context length ${model.contextLength} of model "${model.name}"`,
      };
    }
    if (!Number.isFinite(item.temperature) || item.temperature < 0) {
      return { kind: "invalid", message: `${where}: temperature must be a finite number >= 0` };
    }
    const topP = item.topP ?? 1;
    if (!(topP > 0 && topP <= 1)) return { kind: "invalid", message: `${where}: top_p must be in (0, 1]` };
    items.push({
      id: item.id,
      prompt: item.prompt,
      maxTokens: item.maxTokens,
      temperature: item.temperature,
      topP,
      seed: item.seed,
      ...(item.jsonSchema !== undefined ? { jsonSchema: item.jsonSchema } : {}),
    });
  }
  return {
    model: model.name,
    ...(prefix ? { sharedPrefix: { key: prefix.key, text: prefix.text } } : {}),
    items,
    streamTokens: request.streamTokens,
  };
}
