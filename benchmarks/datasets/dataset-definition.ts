import type { RowValue, TableSchema } from "./table-schema.js";

/** The generated datasets. */
export const DATASET_NAMES = ["tpch", "imdb", "finewiki"] as const;

/** Name of a generated dataset. */
export type DatasetName = (typeof DATASET_NAMES)[number];

/** What a generator is asked for: the same options always yield the same rows. */
export interface GenerationOptions {
  /** Size relative to the dataset's unit (TPC-H: the scale factor). */
  readonly scale: number;
  /** Any non-negative integer. */
  readonly seed: number;
}

/** Where a generator puts rows: one append function per table, fetched once. */
export interface RowSink {
  table(name: string): (row: RowValue[]) => void;
}

/** A deterministic dataset generator and the schema of its tables. */
export interface DatasetDefinition {
  readonly name: DatasetName;
  /** One line for help texts and reports. */
  readonly description: string;
  /** Tables in creation order. */
  readonly tables: readonly TableSchema[];
  /** Accepted scale range, inclusive. */
  readonly minimumScale: number;
  readonly maximumScale: number;
  /** Bumped whenever the generated rows change for the same options. */
  readonly generatorVersion: number;
  /** Produces every row of every table, synchronously, into the sink. */
  generate(options: GenerationOptions, sink: RowSink): void;
}

/** Type guard for dataset names given on a command line or in a file. */
export function isDatasetName(value: string): value is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(value);
}
