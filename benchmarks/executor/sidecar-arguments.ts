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

/** Reads the arguments `sidecarArguments` writes; throws naming a missing or bad one. */
export function parseSidecarArguments(argv: readonly string[]): SidecarOptions {
  const values = new Map<string, string>();
  for (const argument of argv) {
    const match = /^--([a-z-]+)=(.*)$/.exec(argument);
    if (!match) throw new Error(`sidecar: unexpected argument "${argument}"`);
    values.set(match[1]!, match[2]!);
  }
  const integer = (name: string): number => {
    const text = values.get(name);
    const value = Number(text);
    if (text === undefined || !Number.isSafeInteger(value) || value < 1) {
      throw new Error(`sidecar: --${name} must be a positive integer (got ${text})`);
    }
    return value;
  };
  const budget = values.get("memory-budget-bytes");
  const models =
    values
      .get("models")
      ?.split(",")
      .filter((name) => name.length > 0) ?? [];
  return {
    threads: integer("threads"),
    contextSize: integer("context-size"),
    maxSequences: integer("max-sequences"),
    automaticPrefixReuse: values.get("automatic-prefix-reuse") !== "false",
    ...(budget === undefined ? {} : { memoryBudgetBytes: integer("memory-budget-bytes") }),
    ...(models.length > 0 ? { models } : {}),
  };
}
