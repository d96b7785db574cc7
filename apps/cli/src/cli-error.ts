/** Exit codes of the halo command. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  /** The user's input (workflow, queries, flags, files) is invalid. */
  invalidInput: 2,
  /** `halo run`: the run finished, but some or all queries failed (their records say why). */
  queriesFailed: 3,
} as const;

/** An error the CLI reports as a message (no stack trace) with a chosen exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Invalid input: reported with exit code 2. */
export class InvalidInputError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.invalidInput);
    this.name = "InvalidInputError";
  }
}
