/**
 * Query files: `.jsonl` (one JSON object per line) and `.csv` (a header row,
 * RFC 4180 quoting). Each record becomes a query context (a JSONL record may also
 * nest it as `{"id", "context": {…}}`); its id is the `id` field/column when
 * present, else `q00001`, `q00002`, …. Parquet is read by
 * the runtime (DuckDB), not here.
 */
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { isJsonObject, toJsonValue } from "./canonical-json.js";
import { errorMessage } from "./problems.js";
import type { CompiledWorkflow, JsonObject, QueryContext, WorkflowProblem } from "./types.js";

/** Queries loaded, or every problem (capped) with file, line and field. */
export type QueryLoadResult =
  | { readonly ok: true; readonly queries: readonly QueryContext[] }
  | { readonly ok: false; readonly problems: readonly WorkflowProblem[] };

export interface QueryLoadOptions {
  /** Fields every record must provide (the workflow's `inputFields`). */
  readonly inputFields?: readonly string[];
  /** Shorthand for `inputFields: workflow.inputFields`. */
  readonly workflow?: CompiledWorkflow;
  /** Overrides the format the extension implies. */
  readonly format?: "jsonl" | "csv";
  /** The file name shown in problems (parseQueries only). */
  readonly file?: string;
}

/** Problems beyond this many are summarized in one last problem. */
const MAX_PROBLEMS = 50;

interface RawRecord {
  readonly line: number;
  readonly values: JsonObject;
}

type Problems = WorkflowProblem[];

function problem(
  problems: Problems,
  file: string,
  line: number | undefined,
  path: string,
  message: string,
  code: "invalid-query-file" | "missing-input-field" | "duplicate-query-id",
): void {
  problems.push({ code, message, source: { file, path, ...(line === undefined ? {} : { line }) } });
}

function parseJsonLines(text: string, file: string, problems: Problems): RawRecord[] {
  const records: RawRecord[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim().length === 0) return;
    try {
      const value: unknown = JSON.parse(raw);
      if (isJsonObject(value)) records.push({ line, values: toJsonValue(value) as JsonObject });
      else
        problem(
          problems,
          file,
          line,
          `records[${records.length}]`,
          "expected a JSON object per line",
          "invalid-query-file",
        );
    } catch (error) {
      problem(
        problems,
        file,
        line,
        `records[${records.length}]`,
        `invalid JSON: ${errorMessage(error)}`,
        "invalid-query-file",
      );
    }
  });
  return records;
}

/** Splits CSV text into rows of cells with the line each row starts on (quotes may span lines). */
export function parseCsvRows(
  text: string,
): { readonly line: number; readonly cells: string[] }[] | { readonly error: string; readonly line: number } {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let index = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let cellStarted = false;
  const endRow = (): void => {
    cells.push(cell);
    if (!(cells.length === 1 && cells[0] === "" && !cellStarted)) rows.push({ line: rowLine, cells });
    cells = [];
    cell = "";
    cellStarted = false;
  };
  while (index < text.length) {
    const char = text[index] as string;
    if (quoted) {
      if (char === '"') {
        if (text[index + 1] === '"') {
          cell += '"';
          index += 2;
          continue;
        }
        quoted = false;
      } else {
        if (char === "\n") line += 1;
        cell += char;
      }
      index += 1;
      continue;
    }
    if (char === '"' && cell.length === 0) {
      quoted = true;
      cellStarted = true;
    } else if (char === ",") {
      cells.push(cell);
      cell = "";
      cellStarted = true;
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[index + 1] === "\n") index += 1;
      endRow();
      line += 1;
      rowLine = line;
    } else {
      cell += char;
      cellStarted = true;
    }
    index += 1;
  }
  if (quoted) return { error: "unterminated quoted field", line: rowLine };
  if (cell.length > 0 || cells.length > 0 || cellStarted) endRow();
  return rows;
}

function parseCsv(text: string, file: string, problems: Problems): RawRecord[] {
  const rows = parseCsvRows(text);
  if (!Array.isArray(rows)) {
    problem(problems, file, rows.line, "(file)", rows.error, "invalid-query-file");
    return [];
  }
  const header = rows[0];
  if (!header) {
    problem(
      problems,
      file,
      undefined,
      "(file)",
      "the CSV file is empty: expected a header row",
      "invalid-query-file",
    );
    return [];
  }
  const names = header.cells.map((name) => name.trim());
  const records: RawRecord[] = [];
  for (const row of rows.slice(1)) {
    if (row.cells.length !== names.length) {
      problem(
        problems,
        file,
        row.line,
        `records[${records.length}]`,
        `expected ${names.length} columns (${names.join(", ")}), found ${row.cells.length}`,
        "invalid-query-file",
      );
      continue;
    }
    const values: JsonObject = {};
    names.forEach((name, column) => {
      values[name] = row.cells[column] as string;
    });
    records.push({ line: row.line, values });
  }
  return records;
}

function formatOf(file: string, format: QueryLoadOptions["format"]): "jsonl" | "csv" | undefined {
  if (format) return format;
  const extension = extname(file).toLowerCase();
  if (extension === ".jsonl" || extension === ".ndjson") return "jsonl";
  if (extension === ".csv") return "csv";
  return undefined;
}

/** Parses query file text (see `loadQueries`). */
/**
 * The context of a record: the record itself (`{"id": "q1", "user_query": "…"}`), or its `context`
 * object when the record has the nested shape `{"id": "q1", "context": {…}}` that
 * `halo datasets queries` writes.
 */
function contextOf(values: JsonObject): JsonObject {
  const nested = values["context"];
  const onlyIdAndContext = Object.keys(values).every((key) => key === "id" || key === "context");
  return onlyIdAndContext && isJsonObject(nested) ? (nested as JsonObject) : values;
}

export function parseQueries(text: string, options: QueryLoadOptions = {}): QueryLoadResult {
  const file = options.file ?? "queries";
  const problems: Problems = [];
  const format = formatOf(file, options.format);
  if (!format) {
    problem(
      problems,
      file,
      undefined,
      "(file)",
      `unsupported query file format "${extname(file)}": use .jsonl or .csv (Parquet is read by the runtime)`,
      "invalid-query-file",
    );
    return { ok: false, problems };
  }
  const records = format === "jsonl" ? parseJsonLines(text, file, problems) : parseCsv(text, file, problems);
  const required = options.inputFields ?? options.workflow?.inputFields ?? [];
  const queries: QueryContext[] = [];
  const seen = new Map<string, number>();
  records.forEach((record, index) => {
    const fields = contextOf(record.values);
    for (const field of required) {
      if (!Object.hasOwn(fields, field)) {
        problem(
          problems,
          file,
          record.line,
          `records[${index}].${field}`,
          `record ${index + 1} does not provide the input field "${field}"`,
          "missing-input-field",
        );
      }
    }
    const rawId = record.values["id"];
    const id =
      typeof rawId === "string" && rawId.length > 0
        ? rawId
        : typeof rawId === "number"
          ? String(rawId)
          : `q${String(index + 1).padStart(5, "0")}`;
    const firstLine = seen.get(id);
    if (firstLine !== undefined) {
      problem(
        problems,
        file,
        record.line,
        `records[${index}].id`,
        `duplicate query id "${id}" (first on line ${firstLine})`,
        "duplicate-query-id",
      );
    }
    seen.set(id, record.line);
    queries.push({ id, context: fields });
  });
  if (records.length === 0 && problems.length === 0) {
    problem(problems, file, undefined, "(file)", "the file has no queries", "invalid-query-file");
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_PROBLEMS);
    if (problems.length > MAX_PROBLEMS) {
      problem(
        shown,
        file,
        undefined,
        "(file)",
        `… and ${problems.length - MAX_PROBLEMS} more problems`,
        "invalid-query-file",
      );
    }
    return { ok: false, problems: shown };
  }
  return { ok: true, queries };
}

/**
 * Loads queries from a `.jsonl` or `.csv` file; every record must provide the
 * workflow's input fields. Never throws: unreadable files are problems too.
 */
export async function loadQueries(path: string, options: QueryLoadOptions = {}): Promise<QueryLoadResult> {
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
          source: { file: path, path: "(file)" },
        },
      ],
    };
  }
  return parseQueries(text, { ...options, file: path });
}
