import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatasetName } from "./dataset-definition.js";
import { DatasetInputError } from "./dataset-input-error.js";
import { openDuckDbFile, readDatasetInfo } from "./duckdb-file.js";
import { generateDataset } from "./generate-dataset.js";
import { duckdbTableChecksums, type TableChecksum } from "./table-checksums.js";

let directory: string;
let fileIndex = 0;

beforeAll(() => {
  directory = mkdtempSync(join(tmpdir(), "halo-generate-"));
});

afterAll(() => {
  rmSync(directory, { recursive: true, force: true });
});

function freshPath(): string {
  fileIndex += 1;
  return join(directory, `db-${fileIndex}.duckdb`);
}

const generated = new Map<string, Promise<TableChecksum[]>>();

/** Checksums of a freshly generated file; `fresh` forces a new generation of the same options. */
function checksums(
  dataset: DatasetName,
  scale: number,
  seed: number,
  fresh = false,
): Promise<TableChecksum[]> {
  const key = `${dataset}/${scale}/${seed}`;
  const cached = generated.get(key);
  if (cached && !fresh) return cached;
  const path = freshPath();
  const result = generateDataset({ dataset, scale, seed, outPath: path }).then(() =>
    duckdbTableChecksums(path),
  );
  generated.set(key, result);
  return result;
}

const rowCounts = (checksums: readonly TableChecksum[]) =>
  Object.fromEntries(checksums.map(({ table, rowCount }) => [table, rowCount]));

describe("generateDataset", () => {
  it.each([
    ["tpch", 0.002],
    ["imdb", 0.002],
    ["finewiki", 0.002],
  ] as const)(
    "writes identical tables for the same seed and different ones for another (%s)",
    async (dataset, scale) => {
      const first = await checksums(dataset, scale, 11);
      const again = await checksums(dataset, scale, 11, true);
      const other = await checksums(dataset, scale, 12);
      expect(again).toEqual(first);
      const dataTables = (list: readonly TableChecksum[]) =>
        list.filter(({ table }) => table !== "halo_datasets");
      for (const [index, table] of dataTables(other).entries()) {
        const original = dataTables(first)[index];
        // region and nation are fixed lists, but their comments are random.
        expect(table.checksum, table.table).not.toBe(original?.checksum);
      }
    },
  );

  it("scales row counts with the scale", async () => {
    const tpchSmall = rowCounts(await checksums("tpch", 0.002, 11));
    const tpchLarge = rowCounts(await checksums("tpch", 0.004, 11));
    for (const table of ["supplier", "part", "partsupp", "customer", "orders"]) {
      expect(tpchLarge[table], table).toBe(2 * (tpchSmall[table] ?? 0));
    }
    expect(tpchLarge.region).toBe(5);
    expect(tpchLarge.nation).toBe(25);
    expect((tpchLarge.lineitem ?? 0) / (tpchSmall.lineitem ?? 1)).toBeCloseTo(2, 1);

    const imdbSmall = rowCounts(await checksums("imdb", 0.001, 1));
    const imdbLarge = rowCounts(await checksums("imdb", 0.003, 1));
    expect(imdbSmall.title_basics).toBe(1_000);
    expect(imdbLarge.title_basics).toBe(3_000);
    expect(imdbLarge.name_basics).toBe(3 * (imdbSmall.name_basics ?? 0));
    expect((imdbLarge.title_akas ?? 0) / (imdbSmall.title_akas ?? 1)).toBeCloseTo(3, 0);

    expect(rowCounts(await checksums("finewiki", 0.001, 1)).pages).toBe(200);
    expect(rowCounts(await checksums("finewiki", 0.004, 1)).pages).toBe(800);
  });

  it("adds datasets to one file, refuses to overwrite one, and replaces it when asked", async () => {
    const path = freshPath();
    await generateDataset({ dataset: "finewiki", scale: 0.001, seed: 1, outPath: path });
    await generateDataset({ dataset: "imdb", scale: 0.001, seed: 1, outPath: path });
    await expect(generateDataset({ dataset: "imdb", scale: 0.001, seed: 2, outPath: path })).rejects.toThrow(
      /already has table\(s\) title_basics.*imdb.*--force/,
    );
    const replaced = await generateDataset({
      dataset: "imdb",
      scale: 0.002,
      seed: 2,
      outPath: path,
      replace: true,
    });
    expect(replaced.tables.find((table) => table.name === "title_basics")?.rowCount).toBe(2_000);
    const file = await openDuckDbFile(path, { readOnly: true });
    try {
      expect(await readDatasetInfo(file.connection)).toEqual([
        { dataset: "finewiki", scale: 0.001, seed: 1, generatorVersion: 1 },
        { dataset: "imdb", scale: 0.002, seed: 2, generatorVersion: 1 },
      ]);
    } finally {
      file.close();
    }
  });

  it("rejects scales and seeds outside the accepted ranges, naming them", async () => {
    const outPath = freshPath();
    await expect(generateDataset({ dataset: "tpch", scale: 0.0001, seed: 1, outPath })).rejects.toThrow(
      new DatasetInputError("scale for tpch must be a number in [0.001, 1] (got 0.0001)"),
    );
    await expect(generateDataset({ dataset: "imdb", scale: Number.NaN, seed: 1, outPath })).rejects.toThrow(
      /scale for imdb/,
    );
    await expect(generateDataset({ dataset: "finewiki", scale: 0.01, seed: -3, outPath })).rejects.toThrow(
      /seed must be a non-negative integer \(got -3\)/,
    );
    await expect(generateDataset({ dataset: "finewiki", scale: 0.01, seed: 1.5, outPath })).rejects.toThrow(
      DatasetInputError,
    );
  });

  it("reports a file that is not a DuckDB database", async () => {
    const path = join(directory, "not-a-database.txt");
    writeFileSync(path, "plain text, not a database\n");
    await expect(
      generateDataset({ dataset: "finewiki", scale: 0.001, seed: 1, outPath: path }),
    ).rejects.toThrow(/cannot open .*not-a-database\.txt as a DuckDB database/);
  });
});
