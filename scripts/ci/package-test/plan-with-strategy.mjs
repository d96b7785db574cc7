// (a) Load a workflow with @halo/ir, plan it with @halo/optimizer using a strategy defined here, validate, print.
import { loadWorkflowFile } from "@halo/ir";
import { estimateProblem, planToText, runStrategy, syntheticQueries, validatePlan } from "@halo/optimizer";
import { H100_SIMULATED_PROFILE } from "@halo/profiles";

/** One operator per epoch, each on the first worker that can serve it. */
const oneAtATime = {
  specificationVersion: "v1",
  name: "one-at-a-time",
  description: "one LLM operator per epoch, first capable worker",
  plan(problem) {
    const schedule = problem.llm.map((_, operator) => {
      const worker = problem.problem.workers.findIndex((_, w) => problem.modelOn[w][operator] !== undefined);
      return [{ operator, workers: [worker] }];
    });
    return { schedule, warnings: [] };
  },
};

const loaded = await loadWorkflowFile(new URL("./workflow.yaml", import.meta.url).pathname);
if (!loaded.ok) throw new Error(`workflow does not load: ${JSON.stringify(loaded.problems)}`);
const workers = [0, 1].map((index) => ({ id: `gpu${index}`, profile: H100_SIMULATED_PROFILE }));
const { problem } = estimateProblem({
  workflow: loaded.workflow,
  queries: syntheticQueries(loaded.workflow, 50),
  workers,
});
const plan = await runStrategy(problem, { strategy: oneAtATime });
validatePlan(plan, problem);
if (plan.strategy !== "one-at-a-time" || plan.epochs.length !== 2) throw new Error("unexpected plan");
console.log(planToText(plan));
