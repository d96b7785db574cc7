import {
  DATASET_NAMES,
  DATASETS,
  DatasetInputError,
  type DatasetName,
  duckdbTableChecksums,
  generateArticleTitles,
  generateDataset,
  generateMovieQuestions,
  generateTpchQueries,
  isDatasetName,
  type LoadedIntoPostgres,
  loadIntoPostgres,
  type QueryRecord,
  redactPostgresUrl,
  startDataApi,
  writeQueryRecords,
} from "@halo/benchmarks";
import type { Command } from "commander";
import { CliError, InvalidInputError } from "../cli-error.js";
import { numberFlag } from "../cli-flags.js";
import type { CommandIo } from "../io.js";
import type { RegisterCommand } from "./index.js";

/** Runs a dataset operation, turning its input errors into exit code 2 with the subcommand named. */
async function withInputErrors<T>(subcommand: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DatasetInputError)
      throw new InvalidInputError(`datasets ${subcommand}: ${error.message}`);
    if (error instanceof CliError) throw error;
    throw new CliError(`datasets ${subcommand}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function datasetArgument(value: string): DatasetName {
  if (!isDatasetName(value)) {
    throw new InvalidInputError(`<dataset>: expected one of ${DATASET_NAMES.join(", ")} (got "${value}")`);
  }
  return value;
}

const seedFlag = (text: string) =>
  numberFlag("--seed", text, (value) => Number.isSafeInteger(value) && value >= 0, "a non-negative integer");

function scaleFlag(dataset: DatasetName, text: string): number {
  const { minimumScale, maximumScale } = DATASETS[dataset];
  return numberFlag(
    "--scale",
    text,
    (value) => value >= minimumScale && value <= maximumScale,
    `a number in [${minimumScale}, ${maximumScale}] for ${dataset}`,
  );
}

function describeLoad(loaded: LoadedIntoPostgres, postgresUrl: string): string {
  const rows = loaded.tables.reduce((sum, table) => sum + table.rowCount, 0);
  return `loaded ${loaded.datasets.join(", ")} into ${redactPostgresUrl(postgresUrl)}: ${loaded.tables.length} tables, ${rows} rows in ${Math.round(loaded.elapsedMs)} ms${loaded.verified ? " (checksums verified)" : ""}\n`;
}

interface GenFlags {
  readonly scale: string;
  readonly out: string;
  readonly seed: string;
  readonly force?: boolean;
  readonly postgres?: string;
  readonly verify?: boolean;
}

async function runGen(datasetText: string, flags: GenFlags, io: CommandIo): Promise<void> {
  const dataset = datasetArgument(datasetText);
  const scale = scaleFlag(dataset, flags.scale);
  const seed = seedFlag(flags.seed);
  const generated = await withInputErrors("gen", () =>
    generateDataset({ dataset, scale, seed, outPath: flags.out, replace: flags.force ?? false }),
  );
  const tables = generated.tables.map((table) => `${table.name} ${table.rowCount}`).join(", ");
  io.stdout(
    `generated ${dataset} (scale ${scale}, seed ${seed}) → ${flags.out} in ${Math.round(generated.elapsedMs)} ms: ${tables}\n`,
  );
  if (flags.postgres !== undefined) {
    const postgresUrl = flags.postgres;
    const loaded = await withInputErrors("gen", () =>
      loadIntoPostgres({
        dbPath: flags.out,
        postgresUrl,
        replace: flags.force ?? false,
        verify: flags.verify ?? false,
      }),
    );
    io.stdout(describeLoad(loaded, postgresUrl));
  }
}

interface LoadFlags {
  readonly db: string;
  readonly postgres: string;
  readonly force?: boolean;
  readonly verify?: boolean;
}

async function runLoad(flags: LoadFlags, io: CommandIo): Promise<void> {
  const loaded = await withInputErrors("load", () =>
    loadIntoPostgres({
      dbPath: flags.db,
      postgresUrl: flags.postgres,
      replace: flags.force ?? false,
      verify: flags.verify ?? false,
    }),
  );
  io.stdout(describeLoad(loaded, flags.postgres));
}

/** Flags of `halo datasets serve`, checked. */
export interface ServeDataApiFlags {
  readonly db: string;
  readonly host: string;
  readonly port: string;
}

/**
 * Serves the data API until `stop` aborts. Prints one JSON line when listening
 * (`{"event":"listening","url":…,"port":…}`; read the port from it with
 * `--port 0`) and `{"event":"stopped"}` after closing.
 */
export async function serveDataApi(
  flags: ServeDataApiFlags,
  io: CommandIo,
  stop: AbortSignal,
): Promise<void> {
  const port = numberFlag(
    "--port",
    flags.port,
    (value) => Number.isInteger(value) && value >= 0 && value <= 65_535,
    "a port 0–65535",
  );
  if (flags.host.trim() === "") throw new InvalidInputError("--host: must not be empty");
  const api = await withInputErrors("serve", () =>
    startDataApi({
      dbPath: flags.db,
      host: flags.host,
      port,
      onError: (message) => io.stderr(`${message}\n`),
    }),
  );
  io.stdout(
    `${JSON.stringify({ event: "listening", url: api.url, port: api.port, datasets: api.datasets, pid: process.pid })}\n`,
  );
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener("abort", resolve, { once: true }));
  await api.close();
  io.stdout(`${JSON.stringify({ event: "stopped", url: api.url })}\n`);
}

interface QueriesFlags {
  readonly n: string;
  readonly out: string;
  readonly seed: string;
  readonly db?: string;
}

async function runQueries(datasetText: string, flags: QueriesFlags, io: CommandIo): Promise<void> {
  const dataset = datasetArgument(datasetText);
  const count = numberFlag(
    "--n",
    flags.n,
    (value) => Number.isSafeInteger(value) && value >= 1,
    "an integer >= 1",
  );
  const seed = seedFlag(flags.seed);
  if (dataset === "tpch" && flags.db !== undefined) {
    throw new InvalidInputError(
      "--db: TPC-H queries draw from the specification's domains and read no database",
    );
  }
  const records: QueryRecord[] = await withInputErrors("queries", async () => {
    if (dataset === "tpch") return generateTpchQueries(count, seed);
    if (dataset === "imdb") return generateMovieQuestions(count, seed, flags.db);
    return generateArticleTitles(count, seed, flags.db);
  });
  await withInputErrors("queries", () => writeQueryRecords(flags.out, records));
  const distinct = new Set(records.map((record) => record.context.user_query)).size;
  io.stdout(`wrote ${records.length} ${dataset} queries (${distinct} distinct) → ${flags.out}\n`);
}

async function runChecksums(flags: { readonly db: string }, io: CommandIo): Promise<void> {
  const checksums = await withInputErrors("checksums", () => duckdbTableChecksums(flags.db));
  for (const { table, rowCount, checksum } of checksums) io.stdout(`${table}\t${rowCount}\t${checksum}\n`);
}

/** `halo datasets …`: generate, load into PostgreSQL, serve, and draw workload queries. */
export const registerDatasetsCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  const datasets = program
    .command("datasets")
    .description("Benchmark datasets: TPC-H-, IMDb- and Wikipedia-shaped tables generated deterministically");
  datasets
    .command("gen")
    .description("Generate a dataset into a DuckDB file (other datasets in the file are kept)")
    .argument("<dataset>", DATASET_NAMES.join(" | "))
    .option(
      "--scale <scale>",
      "tpch: scale factor; imdb: 1 = 1M titles; finewiki: 0.1 = 20,000 pages",
      "0.01",
    )
    .requiredOption("--out <file.duckdb>", "DuckDB file to write (created if missing)")
    .option("--seed <seed>", "non-negative integer; the same seed gives the same rows", "1")
    .option("--force", "replace the dataset's tables if the file (or PostgreSQL) already has them")
    .option("--postgres <url>", "also load the file's datasets into this PostgreSQL database")
    .option("--verify", "with --postgres: compare row counts and checksums afterwards")
    .action((dataset: string, flags: GenFlags) => runGen(dataset, flags, io));
  datasets
    .command("load")
    .description(
      "Load the datasets of a generated DuckDB file into PostgreSQL (same tables, types, keys, rows)",
    )
    .requiredOption("--db <file.duckdb>", "generated DuckDB file")
    .requiredOption("--postgres <url>", "postgres://user:password@host:port/database")
    .option("--force", "drop and reload tables that already exist")
    .option("--verify", "compare row counts and checksums afterwards")
    .action((flags: LoadFlags) => runLoad(flags, io));
  datasets
    .command("serve")
    .description(
      "Serve the reference data API (JSON over HTTP) from a generated DuckDB file until SIGTERM/SIGINT",
    )
    .requiredOption("--db <file.duckdb>", "generated DuckDB file (opened read-only)")
    .option("--host <host>", "interface to bind", "127.0.0.1")
    .option("--port <port>", "port; 0 picks a free one (read it from the listening line)", "8765")
    .action(async (flags: ServeDataApiFlags) => {
      const controller = new AbortController();
      const onSignal = (signal: NodeJS.Signals) => controller.abort(signal);
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
      try {
        await serveDataApi(flags, io, controller.signal);
      } finally {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
    });
  datasets
    .command("queries")
    .description("Write workload inputs as JSONL ({id, context: {user_query}}) for a dataset")
    .argument("<dataset>", DATASET_NAMES.join(" | "))
    .requiredOption("--n <count>", "number of queries")
    .requiredOption("--out <queries.jsonl>", "JSONL file to write")
    .option("--seed <seed>", "non-negative integer", "1")
    .option(
      "--db <file.duckdb>",
      "imdb/finewiki: draw titles from this file (default: the default-generated dataset)",
    )
    .action((dataset: string, flags: QueriesFlags) => runQueries(dataset, flags, io));
  datasets
    .command("checksums")
    .description("Print each generated table's row count and content checksum (tab-separated)")
    .requiredOption("--db <file.duckdb>", "generated DuckDB file")
    .action((flags: { db: string }) => runChecksums(flags, io));
};
