import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestSchema, startTestPostgres, type TestPostgres, withClient } from "@halo/tool-sql/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetInputError } from "./dataset-input-error.js";
import { DATASETS } from "./dataset-registry.js";
import { generateDataset } from "./generate-dataset.js";
import { loadIntoPostgres, postgresTableChecksums, redactPostgresUrl } from "./postgres-loader.js";
import { duckdbTableChecksums } from "./table-checksums.js";

// A real PostgreSQL: HALO_TEST_POSTGRES_URL, or a throwaway cluster started by @halo/tool-sql's test helper.
let server: TestPostgres;
let postgresUrl: string;
let dropSchema: () => Promise<void>;
let directory: string;
let dbPath: string;

beforeAll(async () => {
  server = await startTestPostgres();
  const schema = await createTestSchema(server.url);
  postgresUrl = schema.url;
  dropSchema = schema.drop;
  directory = mkdtempSync(join(tmpdir(), "halo-postgres-loader-"));
  dbPath = join(directory, "all.duckdb");
  await generateDataset({ dataset: "tpch", scale: 0.01, seed: 3, outPath: dbPath });
  await generateDataset({ dataset: "imdb", scale: 0.002, seed: 3, outPath: dbPath });
  await generateDataset({ dataset: "finewiki", scale: 0.002, seed: 3, outPath: dbPath });
}, 300_000);

afterAll(async () => {
  await dropSchema?.();
  await server?.stop();
  rmSync(directory, { recursive: true, force: true });
}, 300_000);

const allTables = () => Object.values(DATASETS).flatMap((definition) => definition.tables);

describe("loadIntoPostgres against a real PostgreSQL", () => {
  it("copies every table with the same rows, verified by checksums", async () => {
    const loaded = await loadIntoPostgres({ dbPath, postgresUrl, verify: true, batchRows: 7_000 });
    expect(loaded.verified).toBe(true);
    expect(loaded.datasets).toEqual(["finewiki", "imdb", "tpch"]);
    const fromDuckdb = (await duckdbTableChecksums(dbPath)).filter(({ table }) => table !== "halo_datasets");
    const fromPostgres = await postgresTableChecksums(postgresUrl, allTables());
    expect(fromPostgres.sort((a, b) => a.table.localeCompare(b.table))).toEqual(
      fromDuckdb.sort((a, b) => a.table.localeCompare(b.table)),
    );
    expect(loaded.tables.find((table) => table.name === "lineitem")?.rowCount).toBe(
      fromDuckdb.find((checksum) => checksum.table === "lineitem")?.rowCount,
    );
  });

  it("creates the same column types, primary keys and indexes", async () => {
    const columns = await withClient(postgresUrl, (client) =>
      client.query<{ table_name: string; column_name: string; data_type: string; precision: number | null }>(
        `SELECT table_name, column_name, data_type, numeric_precision AS precision FROM information_schema.columns
         WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
      ),
    );
    const typeOf = (table: string, column: string) =>
      columns.rows.find((row) => row.table_name === table && row.column_name === column)?.data_type;
    expect(typeOf("lineitem", "l_extendedprice")).toBe("numeric");
    expect(typeOf("lineitem", "l_shipdate")).toBe("date");
    expect(typeOf("pages", "date_modified")).toBe("timestamp without time zone");
    expect(typeOf("pages", "has_math")).toBe("boolean");
    expect(typeOf("pages", "version")).toBe("bigint");
    expect(typeOf("title_ratings", "average_rating")).toBe("double precision");
    expect(typeOf("title_basics", "genres")).toBe("text");

    const keys = await withClient(postgresUrl, (client) =>
      client.query<{ table_name: string; columns: string }>(
        `SELECT tc.table_name, string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) AS columns
         FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
         WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY'
         GROUP BY tc.table_name`,
      ),
    );
    const primaryKeys = Object.fromEntries(keys.rows.map((row) => [row.table_name, row.columns]));
    for (const table of allTables())
      expect(primaryKeys[table.name], table.name).toBe(table.primaryKey.join(","));

    const indexes = await withClient(postgresUrl, (client) =>
      client.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()",
      ),
    );
    const names = indexes.rows.map((row) => row.indexname);
    for (const table of allTables()) for (const index of table.indexes) expect(names).toContain(index.name);
  });

  it("refuses to overwrite tables unless asked, and merges the dataset list", async () => {
    const error = await loadIntoPostgres({ dbPath, postgresUrl }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DatasetInputError);
    expect(String((error as Error).message)).toMatch(/PostgreSQL already has table\(s\) customer, .*--force/);

    const other = join(directory, "finewiki-only.duckdb");
    await generateDataset({ dataset: "finewiki", scale: 0.001, seed: 8, outPath: other });
    const reloaded = await loadIntoPostgres({ dbPath: other, postgresUrl, replace: true, verify: true });
    expect(reloaded.tables).toEqual([{ name: "pages", rowCount: 200 }]);
    const datasets = await withClient(postgresUrl, (client) =>
      client.query<{ dataset: string; seed: string }>(
        "SELECT dataset, seed FROM halo_datasets ORDER BY dataset",
      ),
    );
    expect(datasets.rows).toEqual([
      { dataset: "finewiki", seed: "8" },
      { dataset: "imdb", seed: "3" },
      { dataset: "tpch", seed: "3" },
    ]);
  });

  it("reports a database file without generated datasets and hides passwords in URLs", async () => {
    await expect(loadIntoPostgres({ dbPath: join(directory, "absent.duckdb"), postgresUrl })).rejects.toThrow(
      /absent\.duckdb does not exist/,
    );
    await expect(loadIntoPostgres({ dbPath, postgresUrl, batchRows: 0 })).rejects.toThrow(/batchRows/);
    expect(redactPostgresUrl("postgres://halo:secret@db:5432/x")).toBe("postgres://halo:***@db:5432/x");
  });
});
