import { mulberry32 as seededRandom } from "@halo/seeded-random";
import { splitIntoTokens } from "./approximate-tokenizer.js";

/** Words of the simulated output: plain, so that plumbing bugs (truncation, mixing items) show. */
const WORDS = [
  "the",
  "query",
  "plan",
  "river",
  "table",
  "join",
  "answer",
  "model",
  "batch",
  "token",
  "cache",
  "prefix",
  "stone",
  "green",
  "quick",
  "order",
  "price",
  "region",
  "nation",
  "supplier",
  "part",
  "line",
  "item",
  "date",
  "value",
  "count",
  "total",
  "north",
  "south",
  "east",
  "west",
  "bright",
  "small",
  "large",
  "early",
  "late",
  "because",
  "therefore",
  "with",
  "without",
  "under",
  "over",
  "between",
  "across",
  "after",
  "before",
  "while",
  "and",
] as const;

/** Natural answer lengths (tokens) drawn uniformly from this range, so some items stop and some hit the limit. */
const MIN_NATURAL_TOKENS = 3;
const MAX_NATURAL_TOKENS = 48;

/** The tokens an item generates, and why it stopped. */
export interface PseudoOutput {
  readonly tokens: readonly string[];
  readonly finishReason: "stop" | "length";
}

/** Thrown for a schema that is not a JSON object (the engine turns it into an item failure). */
export class InvalidSchemaError extends Error {
  override readonly name = "InvalidSchemaError";
}

/** Parses a serialized JSON schema; it must be a JSON object. */
export function parseJsonSchema(serialized: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(serialized);
  } catch (error) {
    throw new InvalidSchemaError(
      `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (!isObject(parsed)) throw new InvalidSchemaError("a JSON schema must be a JSON object");
  return parsed;
}

/**
 * Deterministic pseudo-text for one item, seeded by the caller (greedy items
 * are seeded by their prompt only). The text does not depend on `maxTokens`
 * except for truncation, as with a real greedy decoder. `naturalTokens`
 * sets the length the answer would have without `maxTokens`.
 */
export function pseudoText(seed: number, maxTokens: number, naturalTokens?: number): PseudoOutput {
  const random = seededRandom(seed);
  const drawn = MIN_NATURAL_TOKENS + Math.floor(random() * (MAX_NATURAL_TOKENS - MIN_NATURAL_TOKENS + 1));
  const natural = naturalTokens ?? drawn;
  const count = Math.min(natural, maxTokens);
  const tokens = Array.from({ length: count }, (_, index) => {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    return index === 0 ? word : ` ${word}`;
  });
  return { tokens, finishReason: natural > maxTokens ? "length" : "stop" };
}

/**
 * Deterministic JSON that follows `schema` (objects, strings with enum /
 * min/maxLength, numbers, integers, booleans, arrays, null, const, anyOf).
 * String contents shrink until the serialized value fits in `maxTokens`
 * tokens when it can; otherwise the output is cut there ("length"), as a
 * grammar-constrained decoder would be.
 */
export function pseudoJson(seed: number, schema: Record<string, unknown>, maxTokens: number): PseudoOutput {
  for (let wordsPerString = 4; wordsPerString >= 0; wordsPerString--) {
    const value = valueFor(schema, seededRandom(seed), wordsPerString, 0);
    const tokens = splitIntoTokens(JSON.stringify(value));
    if (tokens.length <= maxTokens) return { tokens, finishReason: "stop" };
    if (wordsPerString === 0) return { tokens: tokens.slice(0, maxTokens), finishReason: "length" };
  }
  throw new Error("unreachable: the loop returns at zero words per string");
}

const MAX_DEPTH = 6;

function valueFor(schema: unknown, random: () => number, wordsPerString: number, depth: number): unknown {
  if (!isObject(schema) || depth > MAX_DEPTH) return null;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[Math.floor(random() * schema.enum.length)];
  }
  for (const combinator of ["anyOf", "oneOf", "allOf"] as const) {
    const options = schema[combinator];
    if (Array.isArray(options) && options.length > 0)
      return valueFor(options[0], random, wordsPerString, depth + 1);
  }
  const type = Array.isArray(schema.type)
    ? (schema.type.find((entry) => entry !== "null") ?? "null")
    : schema.type;
  switch (type ?? (isObject(schema.properties) ? "object" : "string")) {
    case "object": {
      const properties = isObject(schema.properties) ? schema.properties : {};
      return Object.fromEntries(
        Object.entries(properties).map(([name, property]) => [
          name,
          valueFor(property, random, wordsPerString, depth + 1),
        ]),
      );
    }
    case "array": {
      const minItems = typeof schema.minItems === "number" ? schema.minItems : 1;
      const maxItems = typeof schema.maxItems === "number" ? schema.maxItems : Math.max(minItems, 2);
      const count = Math.min(maxItems, Math.max(minItems, 1 + Math.floor(random() * 2)));
      return Array.from({ length: count }, () => valueFor(schema.items, random, wordsPerString, depth + 1));
    }
    case "integer":
    case "number": {
      const minimum = typeof schema.minimum === "number" ? schema.minimum : 0;
      const maximum = typeof schema.maximum === "number" ? schema.maximum : minimum + 100;
      const value = minimum + random() * (maximum - minimum);
      return type === "integer" ? Math.round(value) : Math.round(value * 100) / 100;
    }
    case "boolean":
      return random() < 0.5;
    case "null":
      return null;
    default:
      return stringFor(schema, random, wordsPerString);
  }
}

function stringFor(schema: Record<string, unknown>, random: () => number, wordsPerString: number): string {
  const words = Array.from({ length: wordsPerString }, () => WORDS[Math.floor(random() * WORDS.length)]!);
  let text = words.join(" ");
  if (typeof schema.maxLength === "number") text = text.slice(0, Math.max(0, schema.maxLength)).trimEnd();
  if (typeof schema.minLength === "number" && text.length < schema.minLength) {
    text = text.padEnd(schema.minLength, "a");
  }
  return text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
