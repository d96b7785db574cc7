/**
 * Where `halo run` writes results. `--out x.jsonl`: the durable JSONL sink
 * itself. `--out x.parquet`: records go to the journal `x.parquet.jsonl` (the
 * file `--resume` reads) and are written as Parquet by DuckDB at the end,
 * with `outputs`, `operators` and `error` as JSON columns.
 */
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

/** Opens the results file (`--resume` keeps and skips what is there). */
export async function openRunResults(path: string, resume: boolean): Promise<RunResults> {
  const extension = extname(path).toLowerCase();
  if (extension !== ".jsonl" && extension !== ".parquet") {
    throw new InvalidInputError(`--out: expected a .jsonl or .parquet file, got ${path}`);
  }
  const parquet = extension === ".parquet";
  const journal = parquet ? `${path}.jsonl` : path;
  let sink: JsonlResultSink;
  try {
    sink = await JsonlResultSink.open(journal, { resume });
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
