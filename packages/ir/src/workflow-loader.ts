/**
 * Entry points that turn YAML text, files or plain values into a compiled
 * workflow or the full list of problems. They never throw on bad input: an
 * unexpected failure becomes a problem with code `internal`.
 */
import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { isJsonObject } from "./canonical-json.js";
import { checkGraphSpec } from "./graph-spec-check.js";
import { isOpsDocument, translateOpsDocument } from "./ops-dialect.js";
import { errorMessage, ProblemCollector, plainLocator, type SourceLocator } from "./problems.js";
import type { CompiledWorkflow, WorkflowProblem } from "./types.js";
import { assembleWorkflow } from "./workflow-assembly.js";
import { yamlLocator } from "./yaml-locator.js";

/** The outcome of loading a workflow: compiled, or every problem found (warnings either way). */
export type LoadResult =
  | { readonly ok: true; readonly workflow: CompiledWorkflow; readonly warnings: readonly WorkflowProblem[] }
  | {
      readonly ok: false;
      readonly problems: readonly WorkflowProblem[];
      readonly warnings: readonly WorkflowProblem[];
    };

/** Options of the loaders. */
export interface LoadOptions {
  /** The file name shown in problems (default `workflow`; `builder` for the TS builder). */
  readonly file?: string;
  /** Compile as this dialect's IR (`builder` for the TS builder). */
  readonly dialect?: CompiledWorkflow["dialect"];
}

function defaultName(file: string): string {
  const name = basename(file, extname(file));
  return name.length > 0 ? name : "workflow";
}

/** Compiles a parsed document with a locator (shared by YAML, plain values and the builder). */
export function compileWithLocator(
  value: unknown,
  locator: SourceLocator,
  options: LoadOptions = {},
): LoadResult {
  const collector = new ProblemCollector(locator);
  try {
    if (isOpsDocument(value)) {
      const translation = translateOpsDocument(value, collector, defaultName(locator.file));
      if (translation) {
        const inner = new ProblemCollector(translation.locator);
        const checked = checkGraphSpec(translation.document, inner, defaultName(locator.file));
        const workflow = checked
          ? assembleWorkflow(checked, inner, {
              dialect: "ops",
              source: locator.file,
              ...(translation.dataset ? { dataset: translation.dataset } : {}),
            })
          : undefined;
        collector.problems.push(...inner.problems);
        collector.warnings.push(...inner.warnings);
        if (workflow && collector.errorCount === 0)
          return { ok: true, workflow, warnings: collector.warnings };
      }
    } else if (isJsonObject(value) && Object.hasOwn(value, "graph")) {
      const checked = checkGraphSpec(value, collector, defaultName(locator.file));
      const workflow = checked
        ? assembleWorkflow(checked, collector, { dialect: options.dialect ?? "graph", source: locator.file })
        : undefined;
      if (workflow && collector.errorCount === 0) return { ok: true, workflow, warnings: collector.warnings };
    } else {
      collector.error(
        "unknown-dialect",
        "not a workflow: expected a top-level `graph:` (graph dialect) or `ops:` (ops dialect) mapping",
        [],
      );
    }
  } catch (error) {
    collector.error("internal", `internal error while compiling: ${errorMessage(error)}`, []);
  }
  if (collector.errorCount === 0)
    collector.error("internal", "compilation failed without a reported problem", []);
  return { ok: false, problems: collector.problems, warnings: collector.warnings };
}

/** Compiles a parsed document (the value of a YAML or JSON file). */
export function compileSpec(value: unknown, options: LoadOptions = {}): LoadResult {
  return compileWithLocator(value, plainLocator(options.file ?? "workflow"), options);
}

/** Parses YAML (or JSON) text and compiles it; problems carry YAML paths and line numbers. */
export function loadWorkflowText(text: string, options: LoadOptions = {}): LoadResult {
  const file = options.file ?? "workflow";
  try {
    const lineCounter = new LineCounter();
    const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
    if (document.errors.length > 0) {
      const problems: WorkflowProblem[] = document.errors.map((error) => {
        const position = error.linePos?.[0];
        return {
          code: "yaml-syntax",
          message: `YAML syntax: ${(error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")}`,
          source: {
            file,
            path: "(document)",
            ...(position ? { line: position.line, column: position.col } : {}),
          },
        };
      });
      return { ok: false, problems, warnings: [] };
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      // Unresolved aliases and alias bombs surface only when the document is converted.
      return {
        ok: false,
        problems: [
          {
            code: "yaml-syntax",
            message: `YAML: ${errorMessage(error)}`,
            source: { file, path: "(document)" },
          },
        ],
        warnings: [],
      };
    }
    return compileWithLocator(value, yamlLocator(file, document, lineCounter), options);
  } catch (error) {
    return {
      ok: false,
      problems: [
        {
          code: "internal",
          message: `internal error while loading: ${errorMessage(error)}`,
          source: { file, path: "(document)" },
        },
      ],
      warnings: [],
    };
  }
}

/** Reads a workflow file (YAML or JSON) and compiles it. A missing file is a problem, not an exception. */
export async function loadWorkflowFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      ok: false,
      problems: [
        {
          code: "file-not-found",
          message:
            code === "ENOENT" ? `no such file: ${path}` : `cannot read ${path}: ${errorMessage(error)}`,
          source: { file: path, path: "(document)" },
        },
      ],
      warnings: [],
    };
  }
  return loadWorkflowText(text, { file: path });
}
