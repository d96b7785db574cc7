import { parseArgs } from "node:util";

/** How a benchmark sidecar process runs its engine. */
export interface SidecarOptions {
  readonly threads: number;
  readonly contextSize: number;
  readonly maxSequences: number;
  readonly automaticPrefixReuse: boolean;
  readonly memoryBudgetBytes?: number;
  /** Models to serve besides the built-in stand-ins (an executor loads only configured models). */
  readonly models?: readonly string[];
}

/** Command-line arguments for a sidecar process. */
export function sidecarArguments(options: SidecarOptions): string[] {
  const args = [
    `--threads=${options.threads}`,
    `--context-size=${options.contextSize}`,
    `--max-sequences=${options.maxSequences}`,
    `--automatic-prefix-reuse=${options.automaticPrefixReuse}`,
  ];
  if (options.memoryBudgetBytes !== undefined)
    args.push(`--memory-budget-bytes=${options.memoryBudgetBytes}`);
  if (options.models && options.models.length > 0) args.push(`--models=${options.models.join(",")}`);
  return args;
}

/** Reads the arguments `sidecarArguments` writes (with `node:util` `parseArgs`); throws naming a missing or bad one. */
export function parseSidecarArguments(argv: readonly string[]): SidecarOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        threads: { type: "string" },
        "context-size": { type: "string" },
        "max-sequences": { type: "string" },
        "automatic-prefix-reuse": { type: "string" },
        "memory-budget-bytes": { type: "string" },
        models: { type: "string" },
      },
    }));
  } catch (error) {
    throw new Error(`sidecar: ${(error as Error).message}`);
  }
  const integer = (name: string): number => {
    const text = values[name];
    const value = Number(text);
    if (text === undefined || !Number.isSafeInteger(value) || value < 1) {
      throw new Error(`sidecar: --${name} must be a positive integer (got ${text})`);
    }
    return value;
  };
  const models = values["models"]?.split(",").filter((name) => name.length > 0) ?? [];
  return {
    threads: integer("threads"),
    contextSize: integer("context-size"),
    maxSequences: integer("max-sequences"),
    automaticPrefixReuse: values["automatic-prefix-reuse"] !== "false",
    ...(values["memory-budget-bytes"] === undefined
      ? {}
      : { memoryBudgetBytes: integer("memory-budget-bytes") }),
    ...(models.length > 0 ? { models } : {}),
  };
}
