import { type SeededRandom, Sfc32 } from "@halo/seeded-random";
import type { DatasetDefinition, GenerationOptions, RowSink } from "./dataset-definition.js";
import { fillerText, randomCharacters } from "./filler-text.js";
import type { TableSchema } from "./table-schema.js";
import {
  TPCH_COLORS,
  TPCH_CONTAINER_SYLLABLES,
  TPCH_CURRENT_DATE,
  TPCH_END_DATE,
  TPCH_NATIONS,
  TPCH_PRIORITIES,
  TPCH_REGIONS,
  TPCH_SEGMENTS,
  TPCH_SHIP_INSTRUCTIONS,
  TPCH_SHIP_MODES,
  TPCH_START_DATE,
  TPCH_TYPE_SYLLABLES,
} from "./tpch-domains.js";

/** The eight TPC-H tables with the specification's column names and keys. */
export const TPCH_TABLES: readonly TableSchema[] = [
  {
    name: "region",
    columns: [
      { name: "r_regionkey", type: "integer" },
      { name: "r_name", type: "text" },
      { name: "r_comment", type: "text" },
    ],
    primaryKey: ["r_regionkey"],
    indexes: [],
  },
  {
    name: "nation",
    columns: [
      { name: "n_nationkey", type: "integer" },
      { name: "n_name", type: "text" },
      { name: "n_regionkey", type: "integer" },
      { name: "n_comment", type: "text" },
    ],
    primaryKey: ["n_nationkey"],
    indexes: [],
  },
  {
    name: "part",
    columns: [
      { name: "p_partkey", type: "integer" },
      { name: "p_name", type: "text" },
      { name: "p_mfgr", type: "text" },
      { name: "p_brand", type: "text" },
      { name: "p_type", type: "text" },
      { name: "p_size", type: "integer" },
      { name: "p_container", type: "text" },
      { name: "p_retailprice", type: "decimal" },
      { name: "p_comment", type: "text" },
    ],
    primaryKey: ["p_partkey"],
    indexes: [{ name: "part_brand_idx", columns: ["p_brand"] }],
  },
  {
    name: "supplier",
    columns: [
      { name: "s_suppkey", type: "integer" },
      { name: "s_name", type: "text" },
      { name: "s_address", type: "text" },
      { name: "s_nationkey", type: "integer" },
      { name: "s_phone", type: "text" },
      { name: "s_acctbal", type: "decimal" },
      { name: "s_comment", type: "text" },
    ],
    primaryKey: ["s_suppkey"],
    indexes: [{ name: "supplier_nationkey_idx", columns: ["s_nationkey"] }],
  },
  {
    name: "partsupp",
    columns: [
      { name: "ps_partkey", type: "integer" },
      { name: "ps_suppkey", type: "integer" },
      { name: "ps_availqty", type: "integer" },
      { name: "ps_supplycost", type: "decimal" },
      { name: "ps_comment", type: "text" },
    ],
    primaryKey: ["ps_partkey", "ps_suppkey"],
    indexes: [{ name: "partsupp_suppkey_idx", columns: ["ps_suppkey"] }],
  },
  {
    name: "customer",
    columns: [
      { name: "c_custkey", type: "integer" },
      { name: "c_name", type: "text" },
      { name: "c_address", type: "text" },
      { name: "c_nationkey", type: "integer" },
      { name: "c_phone", type: "text" },
      { name: "c_acctbal", type: "decimal" },
      { name: "c_mktsegment", type: "text" },
      { name: "c_comment", type: "text" },
    ],
    primaryKey: ["c_custkey"],
    indexes: [{ name: "customer_nationkey_idx", columns: ["c_nationkey"] }],
  },
  {
    name: "orders",
    columns: [
      { name: "o_orderkey", type: "integer" },
      { name: "o_custkey", type: "integer" },
      { name: "o_orderstatus", type: "text" },
      { name: "o_totalprice", type: "decimal" },
      { name: "o_orderdate", type: "date" },
      { name: "o_orderpriority", type: "text" },
      { name: "o_clerk", type: "text" },
      { name: "o_shippriority", type: "integer" },
      { name: "o_comment", type: "text" },
    ],
    primaryKey: ["o_orderkey"],
    indexes: [
      { name: "orders_custkey_idx", columns: ["o_custkey"] },
      { name: "orders_orderdate_idx", columns: ["o_orderdate"] },
    ],
  },
  {
    name: "lineitem",
    columns: [
      { name: "l_orderkey", type: "integer" },
      { name: "l_partkey", type: "integer" },
      { name: "l_suppkey", type: "integer" },
      { name: "l_linenumber", type: "integer" },
      { name: "l_quantity", type: "decimal" },
      { name: "l_extendedprice", type: "decimal" },
      { name: "l_discount", type: "decimal" },
      { name: "l_tax", type: "decimal" },
      { name: "l_returnflag", type: "text" },
      { name: "l_linestatus", type: "text" },
      { name: "l_shipdate", type: "date" },
      { name: "l_commitdate", type: "date" },
      { name: "l_receiptdate", type: "date" },
      { name: "l_shipinstruct", type: "text" },
      { name: "l_shipmode", type: "text" },
      { name: "l_comment", type: "text" },
    ],
    primaryKey: ["l_orderkey", "l_linenumber"],
    indexes: [
      { name: "lineitem_partkey_suppkey_idx", columns: ["l_partkey", "l_suppkey"] },
      { name: "lineitem_shipdate_idx", columns: ["l_shipdate"] },
    ],
  },
];

/** Row counts of the specification (clause 4.2.5) for a scale factor; lineitem is random (~4 per order). */
export function tpchRowCounts(scaleFactor: number): {
  suppliers: number;
  parts: number;
  customers: number;
  orders: number;
  clerks: number;
} {
  return {
    suppliers: Math.round(10_000 * scaleFactor),
    parts: Math.round(200_000 * scaleFactor),
    customers: Math.round(150_000 * scaleFactor),
    orders: Math.round(1_500_000 * scaleFactor),
    clerks: Math.max(1, Math.round(1_000 * scaleFactor)),
  };
}

/** `p_retailprice` in hundredths, the specification's formula of the part key. */
export function tpchRetailPriceCents(partKey: number): number {
  return 90_000 + (Math.floor(partKey / 10) % 20_001) + 100 * (partKey % 1_000);
}

/**
 * The four supplier keys of a part: the specification's formula
 * `(partkey + i × (S/4 + (partkey − 1)/S)) mod S + 1` for i = 0..3. `partsupp`
 * holds these pairs and every lineitem uses one of them. At the small supplier
 * counts of scale factors below 1 the formula can repeat a key for some S; a
 * repeat moves to the next free key so the pairs stay distinct.
 */
export function tpchSuppliersOfPart(partKey: number, supplierCount: number): number[] {
  const step = Math.floor(supplierCount / 4) + Math.floor((partKey - 1) / supplierCount);
  const keys: number[] = [];
  for (let index = 0; index < 4; index++) {
    let key = ((partKey + index * step) % supplierCount) + 1;
    while (keys.includes(key)) key = (key % supplierCount) + 1;
    keys.push(key);
  }
  return keys;
}

function keyText(prefix: string, key: number): string {
  return `${prefix}#${String(key).padStart(9, "0")}`;
}

function phone(random: SeededRandom, nationKey: number): string {
  return `${nationKey + 10}-${random.integer(100, 999)}-${random.integer(100, 999)}-${random.integer(1000, 9999)}`;
}

function generateTpch({ scale, seed }: GenerationOptions, sink: RowSink): void {
  const counts = tpchRowCounts(scale);

  const region = sink.table("region");
  const regionRandom = Sfc32.fromParts("tpch", seed, "region");
  TPCH_REGIONS.forEach((name, key) => {
    region([key, name, fillerText(regionRandom, 31, 115)]);
  });

  const nation = sink.table("nation");
  const nationRandom = Sfc32.fromParts("tpch", seed, "nation");
  TPCH_NATIONS.forEach(({ name, regionKey }, key) => {
    nation([key, name, regionKey, fillerText(nationRandom, 31, 114)]);
  });

  const part = sink.table("part");
  const partRandom = Sfc32.fromParts("tpch", seed, "part");
  for (let key = 1; key <= counts.parts; key++) {
    const manufacturer = partRandom.integer(1, 5);
    const type = TPCH_TYPE_SYLLABLES.map((syllables) => partRandom.pick(syllables)).join(" ");
    const container = TPCH_CONTAINER_SYLLABLES.map((syllables) => partRandom.pick(syllables)).join(" ");
    part([
      key,
      partRandom.sample(TPCH_COLORS, 5).join(" "),
      `Manufacturer#${manufacturer}`,
      `Brand#${manufacturer}${partRandom.integer(1, 5)}`,
      type,
      partRandom.integer(1, 50),
      container,
      tpchRetailPriceCents(key),
      fillerText(partRandom, 5, 22),
    ]);
  }

  const supplier = sink.table("supplier");
  const supplierRandom = Sfc32.fromParts("tpch", seed, "supplier");
  // Clause 4.2.3: a few suppliers carry "Customer ... Complaints" / "Recommends" comments (query 16).
  const flagged = supplierRandom.sample(
    Array.from({ length: counts.suppliers }, (_, index) => index + 1),
    2 * Math.max(1, Math.round(5 * scale)),
  );
  const complaints = new Set(flagged.slice(0, flagged.length / 2));
  const recommendations = new Set(flagged.slice(flagged.length / 2));
  for (let key = 1; key <= counts.suppliers; key++) {
    const nationKey = supplierRandom.integer(0, 24);
    let comment = fillerText(supplierRandom, 25, 100);
    if (complaints.has(key))
      comment = `${comment.slice(0, 40)} Customer ${fillerText(supplierRandom, 5, 20)} Complaints`;
    if (recommendations.has(key)) {
      comment = `${comment.slice(0, 40)} Customer ${fillerText(supplierRandom, 5, 20)} Recommends`;
    }
    supplier([
      key,
      keyText("Supplier", key),
      randomCharacters(supplierRandom, 10, 40),
      nationKey,
      phone(supplierRandom, nationKey),
      supplierRandom.integer(-99_999, 999_999),
      comment,
    ]);
  }

  const partsupp = sink.table("partsupp");
  const partsuppRandom = Sfc32.fromParts("tpch", seed, "partsupp");
  for (let partKey = 1; partKey <= counts.parts; partKey++) {
    for (const supplierKey of tpchSuppliersOfPart(partKey, counts.suppliers)) {
      partsupp([
        partKey,
        supplierKey,
        partsuppRandom.integer(1, 9_999),
        partsuppRandom.integer(100, 100_000),
        fillerText(partsuppRandom, 49, 198),
      ]);
    }
  }

  const customer = sink.table("customer");
  const customerRandom = Sfc32.fromParts("tpch", seed, "customer");
  for (let key = 1; key <= counts.customers; key++) {
    const nationKey = customerRandom.integer(0, 24);
    customer([
      key,
      keyText("Customer", key),
      randomCharacters(customerRandom, 10, 40),
      nationKey,
      phone(customerRandom, nationKey),
      customerRandom.integer(-99_999, 999_999),
      customerRandom.pick(TPCH_SEGMENTS),
      fillerText(customerRandom, 29, 116),
    ]);
  }

  generateOrders(counts, seed, sink);
}

/** Orders and their lines together: an order's total and status come from its lines. */
function generateOrders(counts: ReturnType<typeof tpchRowCounts>, seed: number, sink: RowSink): void {
  const orders = sink.table("orders");
  const lineitem = sink.table("lineitem");
  const random = Sfc32.fromParts("tpch", seed, "orders");
  // Clause 4.2.3: customers whose key is a multiple of 3 place no orders.
  const orderingCustomers = counts.customers - Math.floor(counts.customers / 3);
  const lastOrderDate = TPCH_END_DATE - 151;
  for (let orderKey = 1; orderKey <= counts.orders; orderKey++) {
    const customerIndex = random.integer(0, orderingCustomers - 1);
    const customerKey = Math.floor(customerIndex / 2) * 3 + (customerIndex % 2) + 1;
    const orderDate = random.integer(TPCH_START_DATE, lastOrderDate);
    const lineCount = random.integer(1, 7);
    let totalCents = 0;
    let shippedLines = 0;
    for (let lineNumber = 1; lineNumber <= lineCount; lineNumber++) {
      const partKey = random.integer(1, counts.parts);
      const supplierKey = tpchSuppliersOfPart(partKey, counts.suppliers)[random.integer(0, 3)] as number;
      const quantity = random.integer(1, 50);
      const extendedCents = quantity * tpchRetailPriceCents(partKey);
      const discount = random.integer(0, 10);
      const tax = random.integer(0, 8);
      const shipDate = orderDate + random.integer(1, 121);
      const commitDate = orderDate + random.integer(30, 90);
      const receiptDate = shipDate + random.integer(1, 30);
      const returnFlag = receiptDate <= TPCH_CURRENT_DATE ? (random.chance(0.5) ? "R" : "A") : "N";
      const lineStatus = shipDate > TPCH_CURRENT_DATE ? "O" : "F";
      if (lineStatus === "F") shippedLines++;
      totalCents += Math.round((extendedCents * (100 + tax) * (100 - discount)) / 10_000);
      lineitem([
        orderKey,
        partKey,
        supplierKey,
        lineNumber,
        quantity * 100,
        extendedCents,
        discount,
        tax,
        returnFlag,
        lineStatus,
        shipDate,
        commitDate,
        receiptDate,
        random.pick(TPCH_SHIP_INSTRUCTIONS),
        random.pick(TPCH_SHIP_MODES),
        fillerText(random, 10, 43),
      ]);
    }
    const status = shippedLines === lineCount ? "F" : shippedLines === 0 ? "O" : "P";
    orders([
      orderKey,
      customerKey,
      status,
      totalCents,
      orderDate,
      random.pick(TPCH_PRIORITIES),
      keyText("Clerk", random.integer(1, counts.clerks)),
      0,
      fillerText(random, 19, 78),
    ]);
  }
}

/**
 * TPC-H-shaped data of our own generator (not the official dbgen): the
 * specification's schema, keys, value domains, date relations and row counts
 * per scale factor. Order keys are dense (1..SF×1.5M), not dbgen's sparse keys.
 */
export const TPCH_DATASET: DatasetDefinition = {
  name: "tpch",
  description: "TPC-H-shaped tables (our own generator, not dbgen): scale = TPC-H scale factor",
  tables: TPCH_TABLES,
  minimumScale: 0.001,
  maximumScale: 1,
  generatorVersion: 1,
  generate: generateTpch,
};
