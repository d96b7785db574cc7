/**
 * Residency-aware binding of a plan to the executors: the plans of two size
 * classes may put the same models on different workers (W5: a 4-query plan
 * puts gpt-oss-20b on worker-1, a 16-query plan on worker-2). When one run
 * replaces another while the old one drains — or online runs and batch
 * chunks share the pool — binding each plan worker to whichever executor
 * already holds its models avoids loading models back and forth (10–24 s a
 * load on the simulated H100s). The plan's workers are interchangeable when
 * they have the same device and memory, so any permutation is the same plan
 * on the same hardware; only their addresses change.
 */
import type { ExecutionPlan, PlanningWorker } from "@halo/optimizer";

/** The models an executor holds now, by address. */
export type ResidentModels = ReadonlyMap<string, ReadonlySet<string>>;

/** Most plan workers whose permutations are searched exhaustively; beyond, a greedy assignment. */
const EXHAUSTIVE_LIMIT = 7;

/**
 * The plan with its workers' addresses permuted so that as many workers as
 * possible land on an executor that holds the model of their first step
 * (then of their other steps). Unchanged when the workers differ in device
 * or memory, when an address is missing, or when nothing would improve.
 */
export function bindToResidency(plan: ExecutionPlan, resident: ResidentModels): ExecutionPlan {
  const workers = plan.workers;
  if (workers.length < 2) return plan;
  const first = workers[0]!;
  if (
    workers.some(
      (worker) =>
        worker.address === undefined ||
        worker.device !== first.device ||
        worker.memoryBytes !== first.memoryBytes,
    )
  ) {
    return plan;
  }
  // Each plan worker's models, first-used first (plan order of epochs and steps).
  const models = new Map<string, string[]>(workers.map((worker) => [worker.id, []]));
  for (const epoch of plan.epochs) {
    for (const step of epoch.steps) {
      const list = models.get(step.worker);
      if (list && !list.includes(step.model)) list.push(step.model);
    }
  }
  const addresses = workers.map((worker) => worker.address!);
  /** How well plan worker `w` fits executor `address`: its first model counts most. */
  const score = (w: number, address: string): number => {
    const held = resident.get(address);
    if (!held) return 0;
    const list = models.get(workers[w]!.id) ?? [];
    let total = 0;
    list.forEach((model, index) => {
      if (held.has(model)) total += index === 0 ? 100 : 1;
    });
    return total;
  };
  const identity = addresses.map((_, index) => index);
  const totalOf = (assignment: readonly number[]) =>
    assignment.reduce((sum, executor, w) => sum + score(w, addresses[executor]!), 0);
  let best = identity;
  let bestTotal = totalOf(identity);
  if (workers.length <= EXHAUSTIVE_LIMIT) {
    for (const permutation of permutations(identity)) {
      const total = totalOf(permutation);
      if (total > bestTotal) {
        best = permutation;
        bestTotal = total;
      }
    }
  } else {
    // Greedy: best-scoring (worker, executor) pairs first.
    const pairs: { w: number; e: number; s: number }[] = [];
    for (let w = 0; w < workers.length; w++)
      for (let e = 0; e < addresses.length; e++) pairs.push({ w, e, s: score(w, addresses[e]!) });
    pairs.sort((left, right) => right.s - left.s || left.w - right.w || left.e - right.e);
    const assignment = new Array<number>(workers.length).fill(-1);
    const taken = new Set<number>();
    for (const { w, e } of pairs) {
      if (assignment[w] !== -1 || taken.has(e)) continue;
      assignment[w] = e;
      taken.add(e);
    }
    const total = totalOf(assignment);
    if (total > bestTotal) {
      best = assignment;
      bestTotal = total;
    }
  }
  if (best === identity) return plan;
  return {
    ...plan,
    workers: workers.map((worker, index) => ({ ...worker, address: addresses[best[index]!]! })),
  };
}

function* permutations(items: readonly number[]): Generator<number[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let index = 0; index < items.length; index++) {
    const rest = [...items.slice(0, index), ...items.slice(index + 1)];
    for (const tail of permutations(rest)) yield [items[index]!, ...tail];
  }
}

/** Planning workers restricted to the models they hold, and a key naming the restriction (for plan caches). */
export interface ResidencyRestriction {
  readonly workers: readonly PlanningWorker[];
  /** Empty when nothing is restricted. */
  readonly key: string;
}

/**
 * Restricts each worker that holds some of the workflow's models to those
 * models plus the workflow's models no executor holds: a small run planned
 * on its own would otherwise time-share a worker between models, and each
 * such switch is a model load (10–24 s on the simulated H100s, far longer
 * than a mini-batch's work). Workers that hold none of the workflow's models
 * stay free to load any. Nothing is restricted while no executor holds any
 * of them (the first run places the models).
 */
export function restrictToResidency(
  workers: readonly PlanningWorker[],
  workflowModels: readonly string[],
  resident: ResidentModels,
): ResidencyRestriction {
  const wanted = [...new Set(workflowModels)].sort();
  const heldBy = workers.map((worker) => {
    const held = worker.address === undefined ? undefined : resident.get(worker.address);
    return wanted.filter((model) => held?.has(model) === true);
  });
  const heldAnywhere = new Set(heldBy.flat());
  if (heldAnywhere.size === 0) return { workers, key: "" };
  const unheld = wanted.filter((model) => !heldAnywhere.has(model));
  const restricted = workers.map((worker, index) =>
    heldBy[index]!.length === 0 ? worker : { ...worker, models: [...heldBy[index]!, ...unheld] },
  );
  const key = restricted
    .map((worker) => `${worker.id}=${worker.models === undefined ? "*" : worker.models.join(",")}`)
    .join(";");
  return { workers: restricted, key };
}
