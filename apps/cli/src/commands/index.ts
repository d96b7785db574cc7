import type { Command } from "commander";
import type { CommandIo } from "../io.js";
import { registerBenchCommand } from "./bench-command.js";
import { registerDatasetsCommand } from "./datasets-command.js";
import { registerExecutorCommand } from "./executor-command.js";
import { registerExplainCommand } from "./explain-command.js";
import { registerModelsCommand } from "./models-command.js";
import { registerPlanCommand } from "./plan-command.js";
import { registerProfileCommand } from "./profile-command.js";
import { registerRunCommand } from "./run-command.js";
import { registerServeCommand } from "./serve-command.js";
import { registerValidateCommand } from "./validate-command.js";

/** A subcommand module: adds itself to the program. One file per command in this folder. */
export type RegisterCommand = (program: Command, io: CommandIo) => void;

/** Every subcommand of `halo`, in help order. */
export const commands: readonly RegisterCommand[] = [
  registerValidateCommand,
  registerExplainCommand,
  registerPlanCommand,
  registerRunCommand,
  registerServeCommand,
  registerProfileCommand,
  registerModelsCommand,
  registerExecutorCommand,
  registerDatasetsCommand,
  registerBenchCommand,
];
