/**
 * An example planning strategy (the `PlanningStrategy` v1 contract of
 * `@halo/optimizer`): every model gets a home worker, so workers switch models
 * rarely; each epoch runs the ready LLM operators, each on its model's home
 * worker when free, else on any free worker that can serve it.
 *
 *   halo plan workflow.yaml --queries queries.jsonl --strategy ./model-affinity-strategy.mjs
 *
 * Plain ESM without imports: `plan` gets the indexed problem and returns epochs
 * of `{ operator, workers }` (operator = position in `problem.llm`).
 */
export default {
  specificationVersion: "v1",
  name: "model-affinity",
  description: "each model on a home worker; ready operators in epochs",
  plan(problem) {
    const operators = problem.llm;
    const workerCount = problem.problem.workers.length;
    // Models in order of first use, dealt to workers that can serve them, round-robin.
    const home = new Map();
    let next = 0;
    operators.forEach((operator, position) => {
      if (home.has(operator.model)) return;
      for (let tried = 0; tried < workerCount; tried++) {
        const worker = (next + tried) % workerCount;
        if (problem.modelOn[worker][position] !== undefined) {
          home.set(operator.model, worker);
          next = worker + 1;
          return;
        }
      }
    });
    const schedule = [];
    let done = 0n;
    const allDone = (1n << BigInt(operators.length)) - 1n;
    while (done !== allDone) {
      const epoch = [];
      const busy = new Set();
      let placed = 0n;
      operators.forEach((operator, position) => {
        const bit = 1n << BigInt(position);
        if ((done & bit) !== 0n || (problem.llmAncestors[position] & ~done) !== 0n) return;
        const candidates = [home.get(operator.model), ...Array.from({ length: workerCount }, (_, w) => w)];
        const worker = candidates.find(
          (w) => w !== undefined && !busy.has(w) && problem.modelOn[w][position] !== undefined,
        );
        if (worker === undefined) return;
        busy.add(worker);
        epoch.push({ operator: position, workers: [worker] });
        placed |= bit;
      });
      if (placed === 0n) throw new Error("model-affinity: no worker can serve a ready operator");
      schedule.push(epoch);
      done |= placed;
    }
    return { schedule, warnings: [] };
  },
};
