import { H100_SIMULATED_PROFILE } from "@halo/profiles";
import type { PlanningProblem } from "../planning-problem.js";
import { randomProblem } from "./synthetic-problems.js";

/** Small seeded instances an exhaustive search can solve: 3–5 LLM operators, 1–3 workers, 1–3 models. */
export function tinyProblems(count: number, seedBase = 100): PlanningProblem[] {
  return Array.from({ length: count }, (_, index) =>
    randomProblem({
      seed: seedBase + index,
      queries: 50 + ((index * 37) % 400),
      workers: 1 + (index % 3 === 0 ? 0 : index % 2 === 0 ? 2 : 1),
      llmOperators: 3 + (index % 3),
      modelCount: 1 + (index % 3),
      toolOperators: index % 2,
      profile: H100_SIMULATED_PROFILE,
    }),
  );
}
