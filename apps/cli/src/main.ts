import { Command, CommanderError } from "commander";
import { CliError, ExitCode } from "./cli-error.js";
import { commands } from "./commands/index.js";
import { type CommandIo, processIo } from "./io.js";

/** Builds the `halo` program with every subcommand registered. */
export function createProgram(io: CommandIo = processIo): Command {
  const program = new Command("halo")
    .description("Halo: run batches of agentic LLM workflows as one optimized query plan")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  for (const register of commands) register(program, io);
  return program;
}

/** Runs the CLI and resolves to the process exit code; never throws. */
export async function runCli(argv: readonly string[], io: CommandIo = processIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit with 0; usage errors are invalid input.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.invalidInput;
    }
    if (error instanceof CliError) {
      io.stderr(`halo: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(
      `halo: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return ExitCode.failure;
  }
}
