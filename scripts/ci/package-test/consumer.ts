// Types resolve from the installed tarballs: `tsc --noEmit` on this file.

import { SimEngine } from "@halo/engine-sim";
import type { EngineV1 } from "@halo/executor";
import type { CompiledWorkflow } from "@halo/ir";
import type { ExecutionPlan, PlanningStrategy, StrategyResult } from "@halo/optimizer";
import { compareStrategy, type StrategyComparisonRow } from "@halo/optimizer/testing";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import type { RunSummary } from "@halo/runtime";

export const strategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "typed",
  description: "every operator in its own epoch on worker 0",
  plan(problem): StrategyResult {
    return { schedule: problem.llm.map((_, operator) => [{ operator, workers: [0] }]), warnings: [] };
  },
};

export const engine: EngineV1 = new SimEngine({ profile: H100_SIMULATED_PROFILE });
export type Seen = [CompiledWorkflow, ExecutionPlan, RunSummary, StrategyComparisonRow];
export const compare: typeof compareStrategy = compareStrategy;
