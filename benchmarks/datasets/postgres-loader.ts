import type { DuckDBConnection } from "@duckdb/node-api";
import pg from "pg";
import type { DatasetName } from "./dataset-definition.js";
import { DatasetInputError } from "./dataset-input-error.js";
import { DATASET_INFO_TABLE } from "./dataset-registry.js";
import { openDuckDbFile, readGeneratedTables } from "./duckdb-file.js";
import type { TableChecksum } from "./table-checksums.js";
import {
  createIndexSql,
  createTableSql,
  postgresTypeName,
  type TableSchema,
  tableFingerprintSql,
} from "./table-schema.js";

/** What to copy where. */
export interface LoadIntoPostgresOptions {
  /** A DuckDB file written by `generateDataset`. */
  readonly dbPath: string;
  /** `postgres://user:password@host:port/database` (or a libpq key/value string). */
  readonly postgresUrl: string;
  /** Drop and recreate tables that already exist (otherwise an error naming them). */
  readonly replace?: boolean;
  /** Afterwards compare every table's row count and checksum with the DuckDB file. */
  readonly verify?: boolean;
  /** Rows per INSERT statement (default 10,000). */
  readonly batchRows?: number;
}

/** What was loaded. */
export interface LoadedIntoPostgres {
  readonly datasets: readonly DatasetName[];
  readonly tables: readonly { readonly name: string; readonly rowCount: number }[];
  /** True when `verify` was asked and every checksum matched. */
  readonly verified: boolean;
  readonly elapsedMs: number;
}

/** The URL with its password hidden, for messages. */
export function redactPostgresUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}

/**
 * Copies the generated datasets of a DuckDB file into PostgreSQL: the same
 * tables, column types (from the same schema), primary keys, indexes and rows,
 * in one transaction. Rows travel as text arrays in batched
 * `INSERT … SELECT * FROM unnest($1::type[], …)` statements (one parameter per
 * column, any number of rows). `halo_datasets` is merged, so several files can
 * be loaded into one database.
 */
export async function loadIntoPostgres(options: LoadIntoPostgresOptions): Promise<LoadedIntoPostgres> {
  const startedMs = performance.now();
  const batchRows = options.batchRows ?? 10_000;
  if (!Number.isSafeInteger(batchRows) || batchRows < 1) {
    throw new DatasetInputError(`batchRows must be a positive integer (got ${batchRows})`);
  }
  const file = await openDuckDbFile(options.dbPath, { readOnly: true });
  try {
    const { datasets, tables } = await readGeneratedTables(file.connection, options.dbPath);
    const dataTables = tables.filter((table) => table.name !== DATASET_INFO_TABLE.name);
    const client = await connectPostgres(options.postgresUrl);
    try {
      const loaded: { name: string; rowCount: number }[] = [];
      await client.query("BEGIN");
      try {
        await prepareTables(client, dataTables, options.replace ?? false);
        for (const table of dataTables) {
          const rowCount = await copyTable(file.connection, client, table, batchRows);
          for (const statement of createIndexSql(table)) await client.query(statement);
          loaded.push({ name: table.name, rowCount });
        }
        await mergeDatasetInfo(
          file.connection,
          client,
          datasets.map((info) => info.dataset),
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw error;
      }
      for (const table of dataTables) await client.query(`ANALYZE ${table.name}`);
      let verified = false;
      if (options.verify) {
        await verifyTables(file.connection, client, dataTables);
        verified = true;
      }
      return {
        datasets: datasets.map((info) => info.dataset),
        tables: loaded,
        verified,
        elapsedMs: performance.now() - startedMs,
      };
    } finally {
      await client.end();
    }
  } finally {
    file.close();
  }
}

/** Row counts and checksums of tables in PostgreSQL (same query as `duckdbTableChecksums`). */
export async function postgresTableChecksums(
  postgresUrl: string,
  tables: readonly TableSchema[],
): Promise<TableChecksum[]> {
  const client = await connectPostgres(postgresUrl);
  try {
    return await checksumsOf(client, tables);
  } finally {
    await client.end();
  }
}

async function connectPostgres(postgresUrl: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: postgresUrl });
  // An idle client can still receive a server-side error event; without a listener it would crash the process.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new Error(
      `cannot connect to PostgreSQL at ${redactPostgresUrl(postgresUrl)}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return client;
}

async function prepareTables(
  client: pg.Client,
  tables: readonly TableSchema[],
  replace: boolean,
): Promise<void> {
  const existing = await client.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ANY($1)",
    [tables.map((table) => table.name)],
  );
  const clashing = existing.rows.map((row) => row.name);
  if (clashing.length > 0 && !replace) {
    throw new DatasetInputError(
      `PostgreSQL already has table(s) ${clashing.sort().join(", ")}; pass replace (--force) to drop and reload them`,
    );
  }
  for (const name of clashing) await client.query(`DROP TABLE ${name}`);
  for (const table of tables) await client.query(createTableSql(table, "postgres"));
}

async function copyTable(
  duckdb: DuckDBConnection,
  client: pg.Client,
  table: TableSchema,
  batchRows: number,
): Promise<number> {
  const columnNames = table.columns.map((column) => column.name).join(", ");
  const arrays = table.columns.map((column, index) => `$${index + 1}::${postgresTypeName(column.type)}[]`);
  const insert = `INSERT INTO ${table.name} (${columnNames}) SELECT * FROM unnest(${arrays.join(", ")})`;
  // Every value as text: PostgreSQL parses it into the column's type, so nothing is lost on the way.
  const select = `SELECT ${table.columns.map((column) => `CAST(${column.name} AS VARCHAR)`).join(", ")} FROM ${table.name} ORDER BY ${table.primaryKey.join(", ")}`;
  const result = await duckdb.stream(select);
  let batch: (string | null)[][] = table.columns.map(() => []);
  let batchSize = 0;
  let total = 0;
  // DuckDB reads the next rows while PostgreSQL inserts the previous batch; one INSERT at a time.
  let inserting: Promise<unknown> = Promise.resolve();
  const flush = async () => {
    if (batchSize === 0) return;
    const values = batch;
    total += batchSize;
    batch = table.columns.map(() => []);
    batchSize = 0;
    await inserting;
    inserting = client.query(insert, values);
    // Handled here, rethrown by the next `await inserting`: a failure must not surface as an unhandled rejection.
    inserting.catch(() => {});
  };
  for (
    let chunk = await result.fetchChunk();
    chunk && chunk.rowCount > 0;
    chunk = await result.fetchChunk()
  ) {
    const columns = chunk.getColumns();
    columns.forEach((values, index) => {
      const target = batch[index] as (string | null)[];
      for (const value of values) target.push(value === null ? null : String(value));
    });
    batchSize += chunk.rowCount;
    if (batchSize >= batchRows) await flush();
  }
  await flush();
  await inserting;
  return total;
}

async function mergeDatasetInfo(
  duckdb: DuckDBConnection,
  client: pg.Client,
  datasets: readonly DatasetName[],
): Promise<void> {
  const exists = await client.query("SELECT to_regclass($1) IS NOT NULL AS present", [
    DATASET_INFO_TABLE.name,
  ]);
  if (!exists.rows[0]?.present) await client.query(createTableSql(DATASET_INFO_TABLE, "postgres"));
  await client.query(`DELETE FROM ${DATASET_INFO_TABLE.name} WHERE dataset = ANY($1)`, [datasets]);
  const reader = await duckdb.runAndReadAll(
    `SELECT dataset, CAST(scale AS VARCHAR), CAST(seed AS VARCHAR), generator_version FROM ${DATASET_INFO_TABLE.name}`,
  );
  for (const [dataset, scale, seed, version] of reader.getRows()) {
    await client.query(
      `INSERT INTO ${DATASET_INFO_TABLE.name} (dataset, scale, seed, generator_version) VALUES ($1, $2, $3, $4)`,
      [String(dataset), String(scale), String(seed), Number(version)],
    );
  }
}

async function checksumsOf(client: pg.Client, tables: readonly TableSchema[]): Promise<TableChecksum[]> {
  const checksums: TableChecksum[] = [];
  for (const table of tables) {
    const result = await client.query<{ row_count: string; checksum: string }>(tableFingerprintSql(table));
    const row = result.rows[0];
    checksums.push({
      table: table.name,
      rowCount: Number(row?.row_count ?? 0),
      checksum: row?.checksum ?? "",
    });
  }
  return checksums;
}

async function verifyTables(
  duckdb: DuckDBConnection,
  client: pg.Client,
  tables: readonly TableSchema[],
): Promise<void> {
  const loaded = await checksumsOf(client, tables);
  for (const [index, table] of tables.entries()) {
    const reader = await duckdb.runAndReadAll(tableFingerprintSql(table));
    const [rowCount, checksum] = reader.getRows()[0] ?? [0, ""];
    const copy = loaded[index];
    if (Number(rowCount) !== copy?.rowCount || String(checksum) !== copy.checksum) {
      throw new Error(
        `verification failed for table ${table.name}: DuckDB has ${rowCount} rows (checksum ${checksum}), PostgreSQL ${copy?.rowCount} rows (checksum ${copy?.checksum})`,
      );
    }
  }
}
