import { summaryLine } from "@halo/ir";
import type { Command } from "commander";
import type { CommandIo } from "../io.js";
import { loadWorkflowOrFail, printWarnings } from "../workflow-input.js";
import type { RegisterCommand } from "./index.js";

/** `halo validate <workflow>`: exit 0 with a one-line summary, or exit 2 listing every problem with its path. */
export const registerValidateCommand: RegisterCommand = (program: Command, io: CommandIo) => {
  program
    .command("validate")
    .description("check a workflow file (graph or ops dialect) and list every problem with its YAML path")
    .argument("<workflow>", "workflow YAML or JSON file")
    .action(async (path: string) => {
      const { workflow, warnings } = await loadWorkflowOrFail(path);
      printWarnings(io, warnings);
      io.stdout(`valid: ${summaryLine(workflow)}\n`);
    });
};
