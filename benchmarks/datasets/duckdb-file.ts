import { existsSync } from "node:fs";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { type DatasetName, isDatasetName } from "./dataset-definition.js";
import { DatasetInputError } from "./dataset-input-error.js";
import { DATASET_INFO_TABLE, DATASETS } from "./dataset-registry.js";
import { duckdbTypeName, type TableSchema } from "./table-schema.js";

/** An open DuckDB database file and one connection to it. */
export interface DuckDbFile {
  readonly instance: DuckDBInstance;
  readonly connection: DuckDBConnection;
  close(): void;
}

/** Opens a DuckDB file; read-only opening requires the file to exist. */
export async function openDuckDbFile(path: string, options: { readOnly: boolean }): Promise<DuckDbFile> {
  if (options.readOnly && !existsSync(path)) {
    throw new DatasetInputError(`database file ${path} does not exist`);
  }
  let instance: DuckDBInstance;
  try {
    instance = await DuckDBInstance.create(path, options.readOnly ? { access_mode: "READ_ONLY" } : {});
  } catch (error) {
    throw new DatasetInputError(
      `cannot open ${path} as a DuckDB database: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const connection = await instance.connect();
  return {
    instance,
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Names of the tables in the database's main schema. */
export async function listTables(connection: DuckDBConnection): Promise<Set<string>> {
  const reader = await connection.runAndReadAll(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE'",
  );
  return new Set(reader.getRows().map((row) => String(row[0])));
}

/** A dataset recorded in a database file's `halo_datasets` table. */
export interface StoredDatasetInfo {
  readonly dataset: DatasetName;
  readonly scale: number;
  readonly seed: number;
  readonly generatorVersion: number;
}

/** The datasets a database file holds (empty when it has no `halo_datasets` table). */
export async function readDatasetInfo(connection: DuckDBConnection): Promise<StoredDatasetInfo[]> {
  if (!(await listTables(connection)).has(DATASET_INFO_TABLE.name)) return [];
  const reader = await connection.runAndReadAll(
    `SELECT dataset, scale, seed, generator_version FROM ${DATASET_INFO_TABLE.name} ORDER BY dataset`,
  );
  return reader
    .getRows()
    .flatMap(([dataset, scale, seed, generatorVersion]) =>
      typeof dataset === "string" && isDatasetName(dataset)
        ? [{ dataset, scale: Number(scale), seed: Number(seed), generatorVersion: Number(generatorVersion) }]
        : [],
    );
}

/**
 * The generated datasets of a database file and their tables, after checking
 * that every table exists with the columns and types its generator writes
 * (a file from another generator version or edited by hand is reported).
 */
export async function readGeneratedTables(
  connection: DuckDBConnection,
  path: string,
): Promise<{ datasets: StoredDatasetInfo[]; tables: TableSchema[] }> {
  const datasets = await readDatasetInfo(connection);
  if (datasets.length === 0) {
    throw new DatasetInputError(`${path} holds no generated dataset (no rows in ${DATASET_INFO_TABLE.name})`);
  }
  const reader = await connection.runAndReadAll(
    "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' ORDER BY table_name, ordinal_position",
  );
  const columnsByTable = new Map<string, string[]>();
  for (const [table, column, type] of reader.getRows()) {
    const columns = columnsByTable.get(String(table)) ?? [];
    columns.push(`${String(column)} ${String(type)}`);
    columnsByTable.set(String(table), columns);
  }
  const tables = datasets.flatMap(({ dataset }) => DATASETS[dataset].tables);
  for (const table of tables) {
    const expected = table.columns
      .map((column) => `${column.name} ${duckdbTypeName(column.type)}`)
      .join(", ");
    const actual = columnsByTable.get(table.name)?.join(", ");
    if (actual === undefined) throw new DatasetInputError(`${path} lacks table ${table.name}`);
    if (actual !== expected) {
      throw new DatasetInputError(
        `${path}: table ${table.name} has columns (${actual}), expected (${expected})`,
      );
    }
  }
  return { datasets, tables: [...tables, DATASET_INFO_TABLE] };
}
