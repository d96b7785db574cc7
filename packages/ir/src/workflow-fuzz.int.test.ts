/**
 * Property-based fuzzing of the loader and validator: random documents, random
 * text and mutated fixtures must each end in a compiled workflow or a list of
 * problems, never an exception and never an `internal` problem.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { isJsonObject } from "./canonical-json.js";
import { PROBLEM_CODES } from "./problems.js";
import { examplePath, fixturePath } from "./test-fixtures.js";
import { compileSpec, type LoadResult, loadWorkflowText } from "./workflow-loader.js";

const SEED = 20_250_902;
const CODES = new Set<string>(PROBLEM_CODES);

const VALID_SOURCES = [
  fixturePath("graph-all-features.yaml"),
  fixturePath("graph-loop.yaml"),
  fixturePath("ops-voting.yaml"),
  fixturePath("ops-chain.yaml"),
  examplePath("tpch-diamond.yaml"),
].map((path) => ({ path, text: readFileSync(path, "utf8") }));
const VALID_DOCUMENTS = VALID_SOURCES.map((source) => parse(source.text) as unknown);
// Splicing text re-parses the whole file: the small fixtures keep that fast.
const SPLICE_SOURCES = VALID_SOURCES.filter((source) => source.text.length < 4000);

let compiled = 0;
let rejected = 0;

/** The outcome must be a workflow or well-formed problems; an internal problem is a bug. */
function checkOutcome(result: LoadResult): void {
  if (result.ok) {
    compiled += 1;
    expect(result.workflow.operators.length).toBeGreaterThan(0);
    expect(result.workflow.levels.flat()).toHaveLength(result.workflow.operators.length);
    return;
  }
  rejected += 1;
  expect(result.problems.length).toBeGreaterThan(0);
  for (const problem of result.problems) {
    if (problem.code === "internal" || !CODES.has(problem.code)) {
      throw new Error(`unexpected problem ${problem.code} at ${problem.source.path}: ${problem.message}`);
    }
    expect(typeof problem.source.path).toBe("string");
  }
}

/** Strings that poke at the parsers: templates, regex syntax, reserved id shapes. */
const trickyString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    "{{ user_query }}",
    "{{ tpch_params.region }}",
    "{{ x | upper }}",
    "{{",
    "}}",
    "(?i)\\b(\\d{4})",
    "(?P<y>\\d+)",
    "(?>x)",
    "[",
    "\\",
    "a__iter1",
    "input",
    "inference",
    "http",
    "db",
    "processor",
    "regex_param_extractor",
    'Respond ONLY with: { "a": "string" }',
    "http://example.invalid/x",
    "",
  ),
);

const jsonLike: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  trickyString,
  fc.array(trickyString, { maxLength: 4 }),
  fc.dictionary(trickyString, trickyString, { maxKeys: 4 }),
);

type Path = (string | number)[];

function allPaths(value: unknown, prefix: Path = [], paths: Path[] = []): Path[] {
  paths.push(prefix);
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      allPaths(item, [...prefix, index], paths);
    });
  } else if (isJsonObject(value))
    for (const [key, item] of Object.entries(value)) allPaths(item, [...prefix, key], paths);
  return paths;
}

function parentOf(root: unknown, path: Path): unknown {
  let current = root;
  for (const segment of path.slice(0, -1)) current = (current as Record<string | number, unknown>)[segment];
  return current;
}

interface Mutation {
  readonly kind: "drop" | "duplicate" | "rename" | "replace" | "wrong-type" | "cycle" | "relink";
  readonly pick: number;
  readonly value: unknown;
  readonly text: string;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("drop", "duplicate", "rename", "replace", "wrong-type", "cycle", "relink"),
  pick: fc.nat(),
  value: jsonLike,
  text: trickyString,
});

function wrongType(value: unknown): unknown {
  if (typeof value === "string") return value.length;
  if (typeof value === "number") return String(value);
  if (Array.isArray(value)) return { ...value };
  if (isJsonObject(value)) return Object.values(value);
  return [value];
}

function nodeIds(document: unknown): string[] {
  const graph = isJsonObject(document) ? document["graph"] : undefined;
  const nodes = isJsonObject(graph) && Array.isArray(graph["nodes"]) ? graph["nodes"] : [];
  if (isJsonObject(document) && isJsonObject(document["ops"])) return Object.keys(document["ops"]);
  return nodes.flatMap((node) => (isJsonObject(node) && typeof node["id"] === "string" ? [node["id"]] : []));
}

function applyMutation(document: unknown, change: Mutation): unknown {
  const ids = nodeIds(document);
  const graph = isJsonObject(document) && isJsonObject(document["graph"]) ? document["graph"] : undefined;
  if (change.kind === "cycle" || change.kind === "relink") {
    if (graph && Array.isArray(graph["edges"]) && ids.length > 0) {
      const edges = graph["edges"] as unknown[];
      const from = ids[change.pick % ids.length];
      const to = change.kind === "cycle" ? ids[(change.pick * 7 + 1) % ids.length] : change.text;
      // A reversed or random edge: cycles, self-loops, dangling ids, edges into the input.
      edges.push({ from: to, to: from });
    } else if (isJsonObject(document) && isJsonObject(document["ops"]) && ids.length > 0) {
      const op = (document["ops"] as Record<string, unknown>)[ids[change.pick % ids.length] as string];
      if (isJsonObject(op)) op["input_ops"] = [ids[(change.pick + 1) % ids.length] as string, change.text];
    }
    return document;
  }
  const paths = allPaths(document).filter((path) => path.length > 0);
  if (paths.length === 0) return change.value;
  const path = paths[change.pick % paths.length] as Path;
  const parent = parentOf(document, path) as Record<string | number, unknown> | unknown[];
  const key = path[path.length - 1] as string | number;
  const current = (parent as Record<string | number, unknown>)[key];
  switch (change.kind) {
    case "drop":
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete (parent as Record<string, unknown>)[key];
      break;
    case "duplicate":
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(current));
      else (parent as Record<string, unknown>)[`${key}`.slice(0, -1) || "x"] = structuredClone(current);
      break;
    case "rename":
      if (!Array.isArray(parent)) {
        delete (parent as Record<string, unknown>)[key];
        (parent as Record<string, unknown>)[change.text] = current;
      }
      break;
    case "replace":
      (parent as Record<string | number, unknown>)[key] = change.value;
      break;
    case "wrong-type":
      (parent as Record<string | number, unknown>)[key] = wrongType(current);
      break;
  }
  return document;
}

describe("loader and validator fuzzing (fixed seed)", () => {
  it("never throws on 10,000+ random and mutated specs", () => {
    compiled = 0;
    rejected = 0;
    fc.assert(
      fc.property(jsonLike, (value) => {
        checkOutcome(compileSpec(value, { file: "random.yaml" }));
        checkOutcome(compileSpec({ graph: value }, { file: "random.yaml" }));
        checkOutcome(compileSpec({ ops: value }, { file: "random.yaml" }));
      }),
      { seed: SEED, numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.nat(), (text, pick) => {
        checkOutcome(loadWorkflowText(text, { file: "random.yaml" }));
        // Random text spliced into a valid file: mostly YAML or shape problems.
        const source = SPLICE_SOURCES[pick % SPLICE_SOURCES.length] as { text: string };
        const at = pick % (source.text.length + 1);
        checkOutcome(
          loadWorkflowText(source.text.slice(0, at) + text + source.text.slice(at), { file: "spliced.yaml" }),
        );
      }),
      { seed: SEED, numRuns: 1000 },
    );
    fc.assert(
      fc.property(
        fc.nat({ max: VALID_DOCUMENTS.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (which, mutations) => {
          let document = structuredClone(VALID_DOCUMENTS[which]);
          for (const change of mutations) document = applyMutation(document, change);
          checkOutcome(compileSpec(document, { file: "mutated.yaml" }));
        },
      ),
      { seed: SEED, numRuns: 3500 },
    );
    // 4,500 random documents + 2,000 random texts + 3,500 mutated fixtures; both outcomes in quantity.
    expect(compiled + rejected).toBe(10_000);
    expect(compiled).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(3000);
  }, 300_000);
});
