/**
 * The built-in `regex_param_extractor` processor: pulls parameters out of a
 * free-text query with Python-style regexes, then normalizes them (enums,
 * defaults, upper case, ISO dates, numbers). Pure and deterministic.
 */
import { z } from "zod";
import { isJsonObject, valueToText } from "../canonical-json.js";
import { translatePythonRegex } from "../python-regex.js";
import type { JsonObject, JsonValue } from "../types.js";
import type { ProcessorConfigProblem, ProcessorDefinition } from "./processor-definition.js";

/** The `config` of a `regex_param_extractor` node. */
export const regexParamExtractorConfigSchema = z.object({
  regex: z.record(z.string(), z.union([z.string(), z.array(z.string())])).default({}),
  enums: z.record(z.string(), z.array(z.union([z.string(), z.number()]))).default({}),
  defaults: z.record(z.string(), z.json()).default({}),
  normalize: z
    .object({
      uppercase_fields: z.array(z.string()).default([]),
      date_fields: z.array(z.string()).default([]),
      numeric_fields: z.array(z.string()).default([]),
      strip_quotes: z.boolean().default(false),
    })
    .default({ uppercase_fields: [], date_fields: [], numeric_fields: [], strip_quotes: false }),
});

export type RegexParamExtractorConfig = z.infer<typeof regexParamExtractorConfigSchema>;

interface CompiledExtractor {
  readonly config: RegexParamExtractorConfig;
  readonly patterns: ReadonlyMap<string, readonly RegExp[]>;
  readonly fields: readonly string[];
}

const compiledConfigs = new WeakMap<JsonObject, CompiledExtractor>();

function compileConfig(config: JsonObject): CompiledExtractor {
  const cached = compiledConfigs.get(config);
  if (cached) return cached;
  const parsed = regexParamExtractorConfigSchema.parse(config);
  const patterns = new Map<string, RegExp[]>();
  for (const [field, list] of Object.entries(parsed.regex)) {
    const compiled: RegExp[] = [];
    for (const pattern of typeof list === "string" ? [list] : list) {
      const translation = translatePythonRegex(pattern);
      if (!translation.ok) throw new Error(`regex for "${field}" is invalid: ${translation.reason}`);
      compiled.push(translation.regex);
    }
    patterns.set(field, compiled);
  }
  const fields = [...new Set([...Object.keys(parsed.regex), ...Object.keys(parsed.defaults)])];
  const result = { config: parsed, patterns, fields };
  compiledConfigs.set(config, result);
  return result;
}

/** Problems of a config, with paths relative to `config` (checked at validation time). */
function validateRegexConfig(config: JsonObject): ProcessorConfigProblem[] {
  const parsed = regexParamExtractorConfigSchema.safeParse(config);
  if (!parsed.success) {
    return parsed.error.issues.map((issue) => ({
      code: "invalid-config" as const,
      path: issue.path.filter((segment): segment is string | number => typeof segment !== "symbol"),
      message: issue.message,
    }));
  }
  const problems: ProcessorConfigProblem[] = [];
  for (const [field, list] of Object.entries(parsed.data.regex)) {
    const patterns = typeof list === "string" ? [list] : list;
    patterns.forEach((pattern, index) => {
      const translation = translatePythonRegex(pattern);
      if (!translation.ok) {
        problems.push({
          code: "invalid-regex",
          path: typeof list === "string" ? ["regex", field] : ["regex", field, index],
          message: `invalid regex ${JSON.stringify(pattern)}: ${translation.reason}`,
        });
      }
    });
  }
  return problems;
}

function collapse(text: string): string {
  return text.trim().replace(/\s+/g, " ").toUpperCase();
}

/**
 * Matches a value against enum options: exact (case and spacing insensitive), then
 * equal once all spaces are dropped, then a unique prefix.
 */
export function matchEnum(
  value: JsonValue,
  options: readonly (string | number)[],
): string | number | undefined {
  const wanted = collapse(valueToText(value));
  if (wanted.length === 0) return undefined;
  const exact = options.find((option) => collapse(String(option)) === wanted);
  if (exact !== undefined) return exact;
  // The prototype's extractor also takes "MIDDLEEAST" for "MIDDLE EAST": users write
  // multi-word enum values without the space in parameter strings.
  const unspaced = wanted.replaceAll(" ", "");
  const joined = options.find((option) => collapse(String(option)).replaceAll(" ", "") === unspaced);
  if (joined !== undefined) return joined;
  const prefixed = options.filter((option) => collapse(String(option)).startsWith(wanted));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}

function stripQuotes(value: JsonValue): JsonValue {
  if (typeof value !== "string") return value;
  const text = value.trim();
  const first = text[0];
  if (text.length >= 2 && (first === "'" || first === '"') && text.endsWith(first)) return text.slice(1, -1);
  return text;
}

/** `YYYY-MM-DD`, `YYYY/M/D`, `YYYY.MM.DD` → ISO `YYYY-MM-DD` when the date exists; else unchanged. */
export function normalizeDate(value: JsonValue): JsonValue {
  if (typeof value !== "string") return value;
  const match = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$/.exec(value.trim());
  if (!match) return value;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day)
    return value;
  return date.toISOString().slice(0, 10);
}

/** Numeric strings → numbers (`"1994"` → 1994, `".05"` → 0.05); anything else unchanged. */
export function normalizeNumber(value: JsonValue): JsonValue {
  if (typeof value !== "string") return value;
  const text = value.trim();
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return value;
  const number = Number(text);
  return Number.isFinite(number) ? number : value;
}

function firstMatch(patterns: readonly RegExp[], text: string): string | undefined {
  for (const pattern of patterns) {
    const match = pattern.exec(text);
    if (match) return match[1] ?? match[0];
  }
  return undefined;
}

/**
 * Extracts every configured field from the operator's first input. Each field:
 * the first matching pattern's group 1 (else the whole match), else its default,
 * else null; then strip quotes, upper case, enum, date and numeric normalization.
 */
export function extractRegexParams(text: string, config: JsonObject): JsonObject {
  const { config: parsed, patterns, fields } = compileConfig(config);
  const normalize = parsed.normalize;
  const result: JsonObject = {};
  for (const field of fields) {
    const fallback: JsonValue = Object.hasOwn(parsed.defaults, field)
      ? (parsed.defaults[field] as JsonValue)
      : null;
    const extracted = firstMatch(patterns.get(field) ?? [], text);
    let value: JsonValue = extracted ?? fallback;
    if (normalize.strip_quotes) value = stripQuotes(value);
    if (normalize.uppercase_fields.includes(field) && typeof value === "string") value = value.toUpperCase();
    const options = parsed.enums[field];
    if (options !== undefined && value !== null) {
      const matched = matchEnum(value, options);
      value = matched ?? (fallback === null ? null : (matchEnum(fallback, options) ?? fallback));
    }
    if (normalize.date_fields.includes(field)) value = normalizeDate(value);
    if (normalize.numeric_fields.includes(field)) value = normalizeNumber(value);
    result[field] = value;
  }
  return result;
}

/** The `regex_param_extractor` processor definition (registered by default). */
export const regexParamExtractor: ProcessorDefinition = {
  pure: true,
  validateConfig: validateRegexConfig,
  run(inputs, config, operator) {
    const first = operator.inputs[0];
    const raw = first === undefined ? undefined : inputs[first];
    return extractRegexParams(valueToText(raw), isJsonObject(config) ? config : {});
  },
};
