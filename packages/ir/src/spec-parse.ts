/**
 * Runs a zod schema over one element of a spec and turns its issues into
 * problems with full paths: missing fields, wrong types, unknown fields
 * (warnings: the element still loads without them).
 */
import type { z } from "zod";
import { isJsonObject } from "./canonical-json.js";
import type { PathSegment, ProblemCode, ProblemCollector } from "./problems.js";

type Issue = z.core.$ZodIssue;

function issuePath(issue: Issue): PathSegment[] {
  return issue.path.filter((segment): segment is string | number => typeof segment !== "symbol");
}

function valueAt(value: unknown, path: readonly PathSegment[]): { found: boolean; value: unknown } {
  let current: unknown = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === "number" && segment < current.length) {
      current = current[segment];
    } else if (isJsonObject(current) && typeof segment === "string" && Object.hasOwn(current, segment)) {
      current = current[segment];
    } else {
      return { found: false, value: undefined };
    }
  }
  return { found: true, value: current };
}

function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

function issueMessage(issue: Issue, actual: unknown): string {
  if (issue.code === "invalid_type") return `expected ${issue.expected}, got ${describeType(actual)}`;
  if (issue.code === "invalid_union") {
    const expected = new Set<string>();
    for (const branch of issue.errors) {
      for (const inner of branch) if (inner.code === "invalid_type") expected.add(inner.expected);
    }
    return expected.size > 0
      ? `expected ${[...expected].join(" or ")}, got ${describeType(actual)}`
      : "invalid value";
  }
  return issue.message.replace(/^Invalid input: /, "");
}

function removeKeys(value: unknown, path: readonly PathSegment[], keys: readonly string[]): void {
  const target = valueAt(value, path).value;
  if (isJsonObject(target)) for (const key of keys) delete (target as Record<string, unknown>)[key];
}

/** Options of `parseSpecElement`. */
export interface ParseSpecOptions {
  /** The code for a missing field at a relative path (default `missing-field`). */
  readonly missingCode?: (path: readonly PathSegment[]) => ProblemCode;
  /** Describes the element in messages, e.g. `inference node "answer"`. */
  readonly label?: string;
}

/**
 * Parses `value` with `schema`; every issue becomes a problem at `base + issue
 * path`. Unknown fields are warnings and are dropped before a second parse, so
 * a spec written for a richer prototype still loads. Returns undefined on errors.
 */
export function parseSpecElement<T>(
  schema: z.ZodType<T>,
  value: unknown,
  base: readonly PathSegment[],
  collector: ProblemCollector,
  options: ParseSpecOptions = {},
): T | undefined {
  let result = schema.safeParse(value);
  if (result.success) return result.data;
  const unknownKeys = result.error.issues.filter((issue) => issue.code === "unrecognized_keys");
  const errors = result.error.issues.filter((issue) => issue.code !== "unrecognized_keys");
  const label = options.label === undefined ? "" : `${options.label}: `;
  for (const issue of unknownKeys) {
    if (issue.code !== "unrecognized_keys") continue;
    for (const key of issue.keys) {
      collector.warn("unknown-field", `${label}unknown field "${key}" is ignored`, [
        ...base,
        ...issuePath(issue),
        key,
      ]);
    }
  }
  for (const issue of errors) {
    const path = issuePath(issue);
    const located = valueAt(value, path);
    const last = path[path.length - 1];
    if (!located.found && issue.code === "invalid_type" && typeof last === "string") {
      const code = options.missingCode?.(path) ?? "missing-field";
      collector.error(code, `${label}missing required field "${last}"`, [...base, ...path]);
    } else {
      collector.error("invalid-value", `${label}${issueMessage(issue, located.value)}`, [...base, ...path]);
    }
  }
  if (errors.length > 0) return undefined;
  const stripped = structuredClone(value);
  for (const issue of unknownKeys)
    if (issue.code === "unrecognized_keys") removeKeys(stripped, issuePath(issue), issue.keys);
  result = schema.safeParse(stripped);
  return result.success ? result.data : undefined;
}

/** Values tried, in order, to stand in for a field that failed its check (first one the field accepts). */
const STAND_INS: readonly unknown[] = [undefined, "x", 1, [], ["x"], {}, false, null, "GET"];

/**
 * Like `parseSpecElement`, but when some top-level fields are wrong it still
 * returns the element with stand-ins for those fields (listed in `brokenFields`),
 * so the checks of its other fields can run and report their problems too.
 */
export function parseSpecElementLeniently<T>(
  schema: z.ZodObject,
  value: unknown,
  base: readonly PathSegment[],
  collector: ProblemCollector,
  options: ParseSpecOptions = {},
): { readonly value: T; readonly brokenFields: ReadonlySet<string> } | undefined {
  const parsed = parseSpecElement(schema, value, base, collector, options) as T | undefined;
  if (parsed !== undefined) return { value: parsed, brokenFields: new Set() };
  if (!isJsonObject(value)) return undefined;
  const patched: Record<string, unknown> = {};
  const shape = schema.shape as Record<string, z.ZodType>;
  for (const [key, field] of Object.entries(value)) if (Object.hasOwn(shape, key)) patched[key] = field;
  const broken = new Set<string>();
  for (const issue of schema.safeParse(patched).error?.issues ?? []) {
    const key = issue.path[0];
    if (typeof key !== "string" || broken.has(key) || !Object.hasOwn(shape, key)) continue;
    const stand = STAND_INS.find((candidate) => shape[key]?.safeParse(candidate).success);
    if (stand === undefined && !(shape[key]?.safeParse(undefined).success ?? false)) return undefined;
    broken.add(key);
    if (stand === undefined) delete patched[key];
    else patched[key] = stand;
  }
  const result = schema.safeParse(patched);
  return result.success ? { value: result.data as T, brokenFields: broken } : undefined;
}
