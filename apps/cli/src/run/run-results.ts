/**
 * Where `halo run` writes results. `--out x.jsonl`: the durable JSONL sink
 * itself. `--out x.parquet`: records go to the journal `x.parquet.jsonl` (the
 * file `--resume` reads) and are written as Parquet by DuckDB at the end,
 * with `outputs`, `operators` and `error` as JSON columns.
 */
import { existsSync } from "node:fs";
import { extname } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { JsonlResultSink, ResultFileError } from "@halo/runtime";
import { CliError, InvalidInputError } from "../cli-error.js";

/** The sink of a run and how to finish it. */
export interface RunResults {
  readonly sink: JsonlResultSink;
  /** The file the user asked for. */
  readonly path: string;
  /** The JSONL file records are appended to. */
  readonly journal: string;
  readonly parquet: boolean;
  /** Closes the sink and, for Parquet, writes the Parquet file from the journal. */
  finish(): Promise<void>;
}

/** How `halo run` treats results already in `--out`. */
export interface RunResultsMode {
  /** Keep them and run only the queries without a record (failed records count as done). */
  readonly resume: boolean;
  /** With `resume`: failed records' queries run again; the file keeps the latest record of each. */
  readonly retryFailed: boolean;
  /** Without `resume`: replace an existing file (otherwise refused). */
  readonly overwrite: boolean;
}

/** Opens the results file (`--resume` keeps and skips what is there; an existing file needs `--overwrite` otherwise). */
export async function openRunResults(path: string, mode: RunResultsMode): Promise<RunResults> {
  const extension = extname(path).toLowerCase();
  if (extension !== ".jsonl" && extension !== ".parquet") {
    throw new InvalidInputError(`--out: expected a .jsonl or .parquet file, got ${path}`);
  }
  if (mode.retryFailed && !mode.resume) {
    throw new InvalidInputError("--retry-failed reruns the failed records of --out: use it with --resume");
  }
  if (mode.resume && mode.overwrite) {
    throw new InvalidInputError(
      "--resume and --overwrite exclude each other: keep the results or replace them",
    );
  }
  const parquet = extension === ".parquet";
  const journal = parquet ? `${path}.jsonl` : path;
  if (!mode.resume && !mode.overwrite) {
    const existing = [path, journal].find((file) => existsSync(file));
    if (existing !== undefined) {
      throw new InvalidInputError(
        `--out: ${existing} already exists: --resume to complete it, --overwrite to replace it`,
      );
    }
  }
  let sink: JsonlResultSink;
  try {
    sink = await JsonlResultSink.open(journal, { resume: mode.resume, retryFailed: mode.retryFailed });
  } catch (error) {
    if (error instanceof ResultFileError) throw new InvalidInputError(`--resume: ${error.message}`);
    throw new InvalidInputError(`--out: cannot open ${journal}: ${(error as Error).message}`);
  }
  return {
    sink,
    path,
    journal,
    parquet,
    async finish() {
      await sink.close();
      if (parquet) await writeParquet(journal, path);
    },
  };
}

async function writeParquet(journal: string, path: string): Promise<void> {
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
  const instance = await DuckDBInstance.create(":memory:");
  try {
    const connection = await instance.connect();
    try {
      await connection.run(
        `COPY (SELECT * FROM read_json(${literal(journal)}, format = 'newline_delimited', ` +
          `columns = {id: 'VARCHAR', ok: 'BOOLEAN', outputs: 'JSON', operators: 'JSON', error: 'JSON'})) ` +
          `TO ${literal(path)} (FORMAT PARQUET)`,
      );
    } finally {
      connection.closeSync();
    }
  } catch (error) {
    throw new CliError(`cannot write ${path} from ${journal}: ${(error as Error).message}`);
  } finally {
    instance.closeSync();
  }
}
