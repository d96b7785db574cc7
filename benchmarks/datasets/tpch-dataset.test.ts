import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DuckDbFile, openDuckDbFile } from "./duckdb-file.js";
import { generateDataset } from "./generate-dataset.js";
import { tpchSuppliersOfPart } from "./tpch-dataset.js";
import {
  TPCH_NATIONS,
  TPCH_PRIORITIES,
  TPCH_REGIONS,
  TPCH_SEGMENTS,
  TPCH_SHIP_MODES,
  TPCH_TYPE_SYLLABLES,
} from "./tpch-domains.js";

let directory: string;
let file: DuckDbFile;

/** The single value of a one-row, one-column query. */
async function scalar(sql: string): Promise<unknown> {
  const reader = await file.connection.runAndReadAll(sql);
  return reader.getRowsJson()[0]?.[0];
}

async function column(sql: string): Promise<unknown[]> {
  const reader = await file.connection.runAndReadAll(sql);
  return reader.getRowsJson().map((row) => row[0]);
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), "halo-tpch-"));
  const path = join(directory, "tpch.duckdb");
  await generateDataset({ dataset: "tpch", scale: 0.01, seed: 7, outPath: path });
  file = await openDuckDbFile(path, { readOnly: true });
});

afterAll(() => {
  file?.close();
  rmSync(directory, { recursive: true, force: true });
});

describe("TPC-H-shaped generator at SF 0.01", () => {
  it("writes the specification's row counts", async () => {
    const counts = Object.fromEntries(
      (
        await file.connection.runAndReadAll(
          `SELECT 'region', COUNT(*) FROM region UNION ALL SELECT 'nation', COUNT(*) FROM nation
           UNION ALL SELECT 'supplier', COUNT(*) FROM supplier UNION ALL SELECT 'part', COUNT(*) FROM part
           UNION ALL SELECT 'partsupp', COUNT(*) FROM partsupp UNION ALL SELECT 'customer', COUNT(*) FROM customer
           UNION ALL SELECT 'orders', COUNT(*) FROM orders UNION ALL SELECT 'lineitem', COUNT(*) FROM lineitem`,
        )
      )
        .getRowsJson()
        .map(([table, count]) => [table, Number(count)]),
    );
    expect(counts).toMatchObject({
      region: 5,
      nation: 25,
      supplier: 100,
      part: 2_000,
      partsupp: 8_000,
      customer: 1_500,
      orders: 15_000,
    });
    expect(counts.lineitem / counts.orders).toBeGreaterThan(3.8);
    expect(counts.lineitem / counts.orders).toBeLessThan(4.2);
  });

  it("uses the specification's regions, nations and their regions", async () => {
    expect(await column("SELECT r_name FROM region ORDER BY r_regionkey")).toEqual([...TPCH_REGIONS]);
    const nations = (
      await file.connection.runAndReadAll("SELECT n_name, n_regionkey FROM nation ORDER BY n_nationkey")
    )
      .getRowsJson()
      .map(([name, regionKey]) => ({ name, regionKey }));
    expect(nations).toEqual(TPCH_NATIONS);
    expect(await scalar("SELECT COUNT(*) FROM nation WHERE n_name = 'JAPAN' AND n_regionkey = 2")).toBe("1");
  });

  it("draws categorical columns from their domains", async () => {
    expect(await column("SELECT DISTINCT c_mktsegment FROM customer ORDER BY 1")).toEqual(
      [...TPCH_SEGMENTS].sort(),
    );
    expect(await column("SELECT DISTINCT o_orderpriority FROM orders ORDER BY 1")).toEqual(
      [...TPCH_PRIORITIES].sort(),
    );
    expect(await column("SELECT DISTINCT l_shipmode FROM lineitem ORDER BY 1")).toEqual(
      [...TPCH_SHIP_MODES].sort(),
    );
    expect(
      await scalar("SELECT COUNT(*) FROM part WHERE NOT regexp_full_match(p_brand, 'Brand#[1-5][1-5]')"),
    ).toBe("0");
    expect(
      await scalar("SELECT COUNT(*) FROM part WHERE p_mfgr <> 'Manufacturer#' || substr(p_brand, 7, 1)"),
    ).toBe("0");
    const types = await column("SELECT DISTINCT p_type FROM part");
    for (const type of types) {
      const syllables = String(type).split(" ");
      expect(syllables).toHaveLength(3);
      syllables.forEach((syllable, index) => {
        expect(TPCH_TYPE_SYLLABLES[index] as readonly string[]).toContain(syllable);
      });
    }
    expect(types.length).toBeGreaterThan(100);
    expect(await scalar("SELECT COUNT(*) FROM part WHERE p_type LIKE 'PROMO%'")).not.toBe("0");
    expect(await scalar("SELECT MIN(p_size) || '-' || MAX(p_size) FROM part")).toBe("1-50");
    expect(await scalar("SELECT COUNT(*) FROM part WHERE len(string_split(p_name, ' ')) <> 5")).toBe("0");
    expect(
      await scalar(
        "SELECT COUNT(*) FROM customer WHERE NOT regexp_full_match(c_phone, '\\d{2}-\\d{3}-\\d{3}-\\d{4}') OR CAST(substr(c_phone, 1, 2) AS INTEGER) <> c_nationkey + 10",
      ),
    ).toBe("0");
  });

  it("keeps dates in range with the specification's ship, commit and receipt relations", async () => {
    expect(
      await scalar(
        "SELECT MIN(o_orderdate) >= DATE '1992-01-01' AND MAX(o_orderdate) <= DATE '1998-08-02' FROM orders",
      ),
    ).toBe(true);
    expect(await scalar("SELECT MAX(l_receiptdate) <= DATE '1998-12-31' FROM lineitem")).toBe(true);
    expect(
      await scalar(
        `SELECT COUNT(*) FROM lineitem JOIN orders ON o_orderkey = l_orderkey
         WHERE l_shipdate NOT BETWEEN o_orderdate + 1 AND o_orderdate + 121
            OR l_commitdate NOT BETWEEN o_orderdate + 30 AND o_orderdate + 90
            OR l_receiptdate NOT BETWEEN l_shipdate + 1 AND l_shipdate + 30`,
      ),
    ).toBe("0");
    expect(
      await scalar(
        `SELECT COUNT(*) FROM lineitem
         WHERE (l_receiptdate <= DATE '1995-06-17' AND l_returnflag NOT IN ('R', 'A'))
            OR (l_receiptdate > DATE '1995-06-17' AND l_returnflag <> 'N')
            OR (l_shipdate > DATE '1995-06-17') <> (l_linestatus = 'O')`,
      ),
    ).toBe("0");
    expect(await column("SELECT DISTINCT l_returnflag FROM lineitem ORDER BY 1")).toEqual(["A", "N", "R"]);
  });

  it("derives prices, totals and order status from the lines", async () => {
    expect(
      await scalar(
        `SELECT COUNT(*) FROM part
         WHERE p_retailprice * 100 <> 90000 + (p_partkey // 10) % 20001 + 100 * (p_partkey % 1000)`,
      ),
    ).toBe("0");
    expect(
      await scalar(
        `SELECT COUNT(*) FROM lineitem JOIN part ON p_partkey = l_partkey WHERE l_extendedprice <> l_quantity * p_retailprice`,
      ),
    ).toBe("0");
    expect(await scalar("SELECT MIN(l_discount) || '-' || MAX(l_discount) FROM lineitem")).toBe("0.00-0.10");
    expect(await scalar("SELECT MIN(l_tax) || '-' || MAX(l_tax) FROM lineitem")).toBe("0.00-0.08");
    expect(
      await scalar(
        `SELECT COUNT(*) FROM orders JOIN (
           SELECT l_orderkey,
                  SUM(ROUND(l_extendedprice * (1 + l_tax) * (1 - l_discount), 2)) AS total,
                  CASE WHEN bool_and(l_linestatus = 'F') THEN 'F' WHEN bool_and(l_linestatus = 'O') THEN 'O' ELSE 'P' END AS status
           FROM lineitem GROUP BY l_orderkey) lines ON l_orderkey = o_orderkey
         WHERE ABS(o_totalprice - total) > 0.01 OR o_orderstatus <> status`,
      ),
    ).toBe("0");
  });

  it("keeps every key reference intact", async () => {
    const orphans = [
      "SELECT COUNT(*) FROM lineitem WHERE l_orderkey NOT IN (SELECT o_orderkey FROM orders)",
      "SELECT COUNT(*) FROM orders WHERE o_orderkey NOT IN (SELECT l_orderkey FROM lineitem)",
      "SELECT COUNT(*) FROM lineitem l WHERE NOT EXISTS (SELECT 1 FROM partsupp WHERE ps_partkey = l.l_partkey AND ps_suppkey = l.l_suppkey)",
      "SELECT COUNT(*) FROM partsupp WHERE ps_partkey NOT IN (SELECT p_partkey FROM part) OR ps_suppkey NOT IN (SELECT s_suppkey FROM supplier)",
      "SELECT COUNT(*) FROM orders WHERE o_custkey NOT IN (SELECT c_custkey FROM customer) OR o_custkey % 3 = 0",
      "SELECT COUNT(*) FROM customer WHERE c_nationkey NOT IN (SELECT n_nationkey FROM nation)",
      "SELECT COUNT(*) FROM supplier WHERE s_nationkey NOT IN (SELECT n_nationkey FROM nation)",
      "SELECT COUNT(*) FROM nation WHERE n_regionkey NOT IN (SELECT r_regionkey FROM region)",
      "SELECT COUNT(*) FROM (SELECT ps_partkey FROM partsupp GROUP BY ps_partkey HAVING COUNT(*) <> 4)",
    ];
    for (const sql of orphans) expect(await scalar(sql), sql).toBe("0");
    expect(
      await scalar("SELECT COUNT(*) FROM supplier WHERE s_comment LIKE '%Customer%Complaints%'"),
    ).not.toBe("0");
  });

  it("creates the primary keys and secondary indexes", async () => {
    expect(
      await scalar(
        "SELECT COUNT(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' AND table_name <> 'halo_datasets'",
      ),
    ).toBe("8");
    expect(await column("SELECT index_name FROM duckdb_indexes() ORDER BY 1")).toContain(
      "lineitem_shipdate_idx",
    );
  });
});

describe("tpchSuppliersOfPart", () => {
  it("gives four distinct suppliers even where the formula repeats a key", () => {
    // With 150 suppliers the specification's step reaches 50 = 150 / 3, so i = 0 and i = 3 would collide.
    for (const supplierCount of [100, 150, 1_000]) {
      for (let partKey = 1; partKey <= 20 * supplierCount; partKey += 7) {
        const keys = tpchSuppliersOfPart(partKey, supplierCount);
        expect(new Set(keys).size).toBe(4);
        for (const key of keys) expect(key >= 1 && key <= supplierCount).toBe(true);
      }
    }
  });
});
