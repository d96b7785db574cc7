import type { DatasetDefinition, DatasetName } from "./dataset-definition.js";
import { FINEWIKI_DATASET } from "./finewiki-dataset.js";
import { IMDB_DATASET } from "./imdb-dataset.js";
import type { TableSchema } from "./table-schema.js";
import { TPCH_DATASET } from "./tpch-dataset.js";

/** Every dataset generator, by name. */
export const DATASETS: Readonly<Record<DatasetName, DatasetDefinition>> = {
  tpch: TPCH_DATASET,
  imdb: IMDB_DATASET,
  finewiki: FINEWIKI_DATASET,
};

/**
 * One row per dataset generated into a database file: which generator, scale
 * and seed produced its tables. The loader and the data API read it.
 */
export const DATASET_INFO_TABLE: TableSchema = {
  name: "halo_datasets",
  columns: [
    { name: "dataset", type: "text" },
    { name: "scale", type: "double" },
    { name: "seed", type: "bigint" },
    { name: "generator_version", type: "integer" },
  ],
  primaryKey: ["dataset"],
  indexes: [],
};
