/**
 * JSON helpers shared by request keys, prompt rendering and processors:
 * canonical JSON (sorted keys) for hashing, compact JSON for prompts.
 */
import { createHash } from "node:crypto";
import type { JsonObject, JsonValue } from "./types.js";

/** True for a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * JSON text with object keys sorted at every level, so equal values always
 * produce equal text (and equal hashes) whatever order their keys were built in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof CanonicalText) return value.text;
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (typeof value === "string" || typeof value === "boolean") return JSON.stringify(value);
  if (typeof value === "bigint") return JSON.stringify(value.toString());
  // Built by concatenation, without intermediate arrays: every request key goes through here.
  if (Array.isArray(value)) {
    let text = "[";
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ",";
      text += canonicalJson(value[index]);
    }
    return `${text}]`;
  }
  if (typeof value === "object") {
    const record = value as Record<string, unknown>;
    // The default sort orders by UTF-16 code units, as `<` does.
    const keys = Object.keys(record).sort();
    let text = "{";
    let first = true;
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      if (!first) text += ",";
      text += `${JSON.stringify(key)}:${canonicalJson(item)}`;
      first = false;
    }
    return `${text}}`;
  }
  return "null";
}

/** Canonical JSON text made once (`canonicalOnce`): `canonicalJson` writes it as it is. */
export class CanonicalText {
  constructor(readonly text: string) {}
}

const canonicalTexts = new WeakMap<object, CanonicalText>();

/**
 * The canonical JSON of a value that never changes once made — an operator's
 * JSON schema, parameter types, processor config — computed once per object,
 * for request keys that embed it in every request of that operator.
 */
export function canonicalOnce(value: object): CanonicalText {
  let text = canonicalTexts.get(value);
  if (text === undefined) {
    text = new CanonicalText(canonicalJson(value));
    canonicalTexts.set(value, text);
  }
  return text;
}

/** Hex sha256 of the canonical JSON of a value. */
export function sha256OfJson(value: unknown): string {
  return createHash("sha256").update(canonicalJson(value)).digest("hex");
}

/** How a value appears in prompt text: strings as they are, everything else as compact JSON. */
export function valueToText(value: JsonValue | undefined): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** Converts any JS value (YAML output, CSV cells) to JSON: drops undefined and functions, dates → ISO. */
export function toJsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint")
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map((item) => toJsonValue(item));
  if (typeof value === "object") {
    const result: JsonObject = {};
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (item === undefined || typeof item === "function") continue;
      result[key] = toJsonValue(item);
    }
    return result;
  }
  return null;
}

/** Deep-freezes a value in place and returns it (compiled workflows are read-only). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value as Record<string, unknown>)) deepFreeze(item);
  }
  return value;
}
