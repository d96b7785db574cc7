/**
 * The six benchmark workloads (DESIGN §9): graph-dialect YAML files beside this
 * module, each with the dataset it reads and the generator of its inputs.
 */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateArticleTitles } from "../datasets/article-title-generator.js";
import type { DatasetName } from "../datasets/dataset-definition.js";
import { generateMovieQuestions } from "../datasets/movie-question-generator.js";
import type { QueryRecord } from "../datasets/query-record.js";
import { generateTpchQueries } from "../datasets/tpch-query-generator.js";
import { WorkloadInputError } from "./workload-input-error.js";

/** Workload ids, in the paper's order. */
export const WORKLOAD_IDS = ["w1", "w2", "w3", "w4", "w5", "w6"] as const;

/** Id of a benchmark workload. */
export type WorkloadId = (typeof WORKLOAD_IDS)[number];

/** The models every workload spreads its LLM operators over (the paper's three sizes). */
export const WORKLOAD_MODELS = ["Qwen/Qwen3-14B", "openai/gpt-oss-20b", "Qwen/Qwen3-32B"] as const;

/** Where the workloads' HTTP operators send requests unless redirected (`withHttpMode`). */
export const WORKLOAD_DATA_API_URL = "http://127.0.0.1:8765";

/** Makes `count` workload inputs; `dbPath` is the DuckDB file the titles come from (ignored by TPC-H). */
export type WorkloadQueryGenerator = (count: number, seed: number, dbPath?: string) => Promise<QueryRecord[]>;

/** One benchmark workload. */
export interface WorkloadDefinition {
  readonly id: WorkloadId;
  /** The paper's name, e.g. `IMDb-Diamond`. */
  readonly name: string;
  /** One line on the DAG's shape. */
  readonly shape: string;
  /** The YAML file's name (beside the workload sources). */
  readonly fileName: string;
  /** Absolute path of the YAML file, valid from the sources and from the built package. */
  readonly file: string;
  /** The dataset its SQL and HTTP operators read. */
  readonly dataset: DatasetName;
  /** Operator counts after atomization (each db_queries entry, tool call, http and processor node is one tool operator). */
  readonly llmOperators: number;
  readonly toolOperators: number;
  /** Mean latency of its HTTP operators (padded mode). */
  readonly httpLatencyMeanMs: number;
  /** Generates its inputs: `{id, context: {user_query}}` records. */
  readonly generateQueries: WorkloadQueryGenerator;
}

/**
 * The YAML files stay in the source folder; the compiled module lives in
 * `dist/workloads/`, two levels below the package root.
 */
function workloadFile(fileName: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, fileName), resolve(here, "..", "..", "workloads", fileName)];
  return candidates.find((candidate) => existsSync(candidate)) ?? (candidates[0] as string);
}

const movieQuestions: WorkloadQueryGenerator = (count, seed, dbPath) =>
  generateMovieQuestions(count, seed, dbPath);
const articleTitles: WorkloadQueryGenerator = (count, seed, dbPath) =>
  generateArticleTitles(count, seed, dbPath);
const tpchQueries: WorkloadQueryGenerator = async (count, seed) => generateTpchQueries(count, seed);

function define(definition: Omit<WorkloadDefinition, "file">): WorkloadDefinition {
  return Object.freeze({ ...definition, file: workloadFile(definition.fileName) });
}

/** Every workload, by id order. */
export const WORKLOADS: readonly WorkloadDefinition[] = Object.freeze([
  define({
    id: "w1",
    name: "IMDb-Diamond",
    shape: "planner → five parallel analysts → synthesizer → answer (fan-out, fan-in)",
    fileName: "w1-imdb-diamond.yaml",
    dataset: "imdb",
    llmOperators: 8,
    toolOperators: 9,
    httpLatencyMeanMs: 3_000,
    generateQueries: movieQuestions,
  }),
  define({
    id: "w2",
    name: "IMDb-TripleChain",
    shape: "three independent three-step chains merged by a composer",
    fileName: "w2-imdb-triple-chain.yaml",
    dataset: "imdb",
    llmOperators: 10,
    toolOperators: 3,
    httpLatencyMeanMs: 3_000,
    generateQueries: movieQuestions,
  }),
  define({
    id: "w3",
    name: "FineWiki-LongChain",
    shape: "one chain of nine LLM steps, tools along the way",
    fileName: "w3-finewiki-long-chain.yaml",
    dataset: "finewiki",
    llmOperators: 9,
    toolOperators: 6,
    httpLatencyMeanMs: 3_000,
    generateQueries: articleTitles,
  }),
  define({
    id: "w4",
    name: "FineWiki-Bridge",
    shape: "two four-operator sub-graphs joined by one bridge operator",
    fileName: "w4-finewiki-bridge.yaml",
    dataset: "finewiki",
    llmOperators: 9,
    toolOperators: 3,
    httpLatencyMeanMs: 3_000,
    generateQueries: articleTitles,
  }),
  define({
    id: "w5",
    name: "TPCH-Trident",
    shape: "regex extractor → three SQL agents → two hubs with report APIs → risk tail → answer",
    fileName: "w5-tpch-trident.yaml",
    dataset: "tpch",
    llmOperators: 7,
    toolOperators: 10,
    httpLatencyMeanMs: 6_000,
    generateQueries: tpchQueries,
  }),
  define({
    id: "w6",
    name: "TPCH-Fanout",
    shape: "regex extractor → seven SQL analysts in parallel → aggregator → report",
    fileName: "w6-tpch-fanout.yaml",
    dataset: "tpch",
    llmOperators: 9,
    toolOperators: 13,
    httpLatencyMeanMs: 6_000,
    generateQueries: tpchQueries,
  }),
]);

/** Type guard for workload ids given on a command line or in a file. */
export function isWorkloadId(value: string): value is WorkloadId {
  return (WORKLOAD_IDS as readonly string[]).includes(value);
}

/** The workload with this id (`w1`…`w6`, case-insensitive) or name (`IMDb-Diamond`); throws {@link WorkloadInputError}. */
export function findWorkload(idOrName: string): WorkloadDefinition {
  const wanted = idOrName.trim().toLowerCase();
  const found = WORKLOADS.find(
    (workload) => workload.id === wanted || workload.name.toLowerCase() === wanted,
  );
  if (!found) {
    throw new WorkloadInputError(
      `unknown workload "${idOrName}"; expected one of ${WORKLOADS.map((workload) => `${workload.id} (${workload.name})`).join(", ")}`,
    );
  }
  return found;
}
