import { type CompiledWorkflow, formatProblems, loadWorkflowFile } from "@halo/ir";
import { WorkloadInputError } from "./workload-input-error.js";
import { findWorkload, type WorkloadDefinition } from "./workload-registry.js";

/**
 * Loads and validates a workload's YAML with `@halo/ir`. A missing file or an
 * invalid spec is a {@link WorkloadInputError} listing every problem.
 */
export async function loadWorkload(workload: WorkloadDefinition | string): Promise<CompiledWorkflow> {
  const definition = typeof workload === "string" ? findWorkload(workload) : workload;
  const result = await loadWorkflowFile(definition.file);
  if (!result.ok) {
    throw new WorkloadInputError(
      `workload ${definition.id} (${definition.name}) does not load:\n${formatProblems(result.problems)}`,
    );
  }
  return result.workflow;
}
