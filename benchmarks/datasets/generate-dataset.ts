import type { DuckDBConnection } from "@duckdb/node-api";
import type { DatasetDefinition, DatasetName, GenerationOptions, RowSink } from "./dataset-definition.js";
import { DatasetInputError } from "./dataset-input-error.js";
import { DATASET_INFO_TABLE, DATASETS } from "./dataset-registry.js";
import { listTables, openDuckDbFile } from "./duckdb-file.js";
import { TableAppender } from "./table-appender.js";
import { createIndexSql, createTableSql } from "./table-schema.js";

/** What to generate and where. */
export interface GenerateDatasetOptions extends GenerationOptions {
  readonly dataset: DatasetName;
  /** DuckDB file; created if missing. Other datasets already in it are kept. */
  readonly outPath: string;
  /** Replace this dataset's tables if they exist (otherwise that is an error). */
  readonly replace?: boolean;
}

/** What was generated. */
export interface GeneratedDataset {
  readonly dataset: DatasetName;
  readonly scale: number;
  readonly seed: number;
  readonly path: string;
  readonly tables: readonly { readonly name: string; readonly rowCount: number }[];
  readonly elapsedMs: number;
}

/** Checks scale and seed against a dataset's accepted ranges; throws {@link DatasetInputError}. */
export function validateGenerationOptions(definition: DatasetDefinition, options: GenerationOptions): void {
  const { scale, seed } = options;
  if (!Number.isFinite(scale) || scale < definition.minimumScale || scale > definition.maximumScale) {
    throw new DatasetInputError(
      `scale for ${definition.name} must be a number in [${definition.minimumScale}, ${definition.maximumScale}] (got ${scale})`,
    );
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new DatasetInputError(`seed must be a non-negative integer (got ${seed})`);
  }
}

/**
 * Generates one dataset into a DuckDB file in a single transaction (a failure
 * leaves the file as it was): tables with primary keys, rows through the
 * appender, secondary indexes, and a `halo_datasets` row recording the options.
 */
export async function generateDataset(options: GenerateDatasetOptions): Promise<GeneratedDataset> {
  const definition = DATASETS[options.dataset];
  validateGenerationOptions(definition, options);
  const startedMs = performance.now();
  const file = await openDuckDbFile(options.outPath, { readOnly: false });
  try {
    const { connection } = file;
    const existing = await listTables(connection);
    const clashing = definition.tables.filter((table) => existing.has(table.name)).map((table) => table.name);
    if (clashing.length > 0 && !options.replace) {
      throw new DatasetInputError(
        `${options.outPath} already has table(s) ${clashing.join(", ")} of dataset ${definition.name}; pass replace (--force) to regenerate it`,
      );
    }
    await connection.run("BEGIN TRANSACTION");
    try {
      for (const name of clashing) await connection.run(`DROP TABLE ${name}`);
      const tables = await writeTables(connection, definition, options);
      await recordDataset(connection, definition, options, existing.has(DATASET_INFO_TABLE.name));
      await connection.run("COMMIT");
      await connection.run("CHECKPOINT");
      return {
        dataset: definition.name,
        scale: options.scale,
        seed: options.seed,
        path: options.outPath,
        tables,
        elapsedMs: performance.now() - startedMs,
      };
    } catch (error) {
      await connection.run("ROLLBACK");
      throw error;
    }
  } finally {
    file.close();
  }
}

async function writeTables(
  connection: DuckDBConnection,
  definition: DatasetDefinition,
  options: GenerationOptions,
): Promise<{ name: string; rowCount: number }[]> {
  const appenders = new Map<string, TableAppender>();
  for (const table of definition.tables) {
    await connection.run(createTableSql(table, "duckdb"));
    appenders.set(table.name, await TableAppender.open(connection, table));
  }
  const sink: RowSink = {
    table: (name) => {
      const appender = appenders.get(name);
      if (!appender) throw new Error(`generator ${definition.name} wrote to unknown table ${name}`);
      return (row) => appender.append(row);
    },
  };
  definition.generate({ scale: options.scale, seed: options.seed }, sink);
  for (const appender of appenders.values()) appender.close();
  // Indexes after the rows: building them once is cheaper than maintaining them per row.
  for (const table of definition.tables) {
    for (const statement of createIndexSql(table)) await connection.run(statement);
  }
  return definition.tables.map((table) => ({
    name: table.name,
    rowCount: appenders.get(table.name)?.rowCount ?? 0,
  }));
}

async function recordDataset(
  connection: DuckDBConnection,
  definition: DatasetDefinition,
  options: GenerationOptions,
  infoTableExists: boolean,
): Promise<void> {
  if (!infoTableExists) await connection.run(createTableSql(DATASET_INFO_TABLE, "duckdb"));
  await connection.run(`DELETE FROM ${DATASET_INFO_TABLE.name} WHERE dataset = $dataset`, {
    dataset: definition.name,
  });
  await connection.run(
    `INSERT INTO ${DATASET_INFO_TABLE.name} (dataset, scale, seed, generator_version) VALUES ($dataset, $scale, $seed, $version)`,
    {
      dataset: definition.name,
      scale: options.scale,
      seed: options.seed,
      version: definition.generatorVersion,
    },
  );
}
