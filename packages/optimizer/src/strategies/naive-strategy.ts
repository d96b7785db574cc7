import { lowerBoundTables } from "../lower-bound.js";
import { bit, type ProblemIndex } from "../problem-index.js";
import type { Epoch, EpochAssignment } from "../search-state.js";
import type { PlanningStrategy } from "./planning-strategy.js";

/**
 * `naive`: per-query orchestration, for estimates. Models are placed on
 * workers statically (by total work; several models share a worker when there
 * are more models than workers, or, on executors that keep several models
 * loaded, when two light models on one worker lighten the busiest); each query walks its DAG and every request
 * runs on its own — no cross-query batching, prefix sharing, coalescing or
 * migration. An operator's requests are spread over the workers of its model.
 */
export const naiveStrategy: PlanningStrategy = {
  specificationVersion: "v1",
  name: "naive",
  description:
    "per-query orchestration: static model placement, no batching, sharing, coalescing or migration",
  plan(index, options) {
    const disabled = {
      ...options.disabled,
      prefixSharing: true,
      coalescing: true,
      migration: true,
      batching: true,
    };
    const tables = lowerBoundTables(index, disabled);
    const workerCount = index.problem.workers.length;
    const work = new Map<string, number>();
    index.llm.forEach((operator, position) => {
      work.set(operator.model, (work.get(operator.model) ?? 0) + tables.minWorkMs[position]!);
    });
    const models = [...work.keys()].sort(
      (left, right) => work.get(right)! - work.get(left)! || left.localeCompare(right),
    );
    const capable = (worker: number, model: string) =>
      index.llm.some(
        (operator, position) => operator.model === model && index.modelOn[worker]![position] !== undefined,
      );
    const keepsSeveral = index.problem.workers.every(
      (worker) => (worker.profile.capabilities?.maxLoadedModels ?? 1) > 1,
    );
    let hosts = deploy(index, models, work, capable, keepsSeveral)!;
    // Executors that keep several models loaded: a user would also try two light models on one
    // device, freeing one for the heaviest (the deployment whose busiest device has least work wins).
    if (keepsSeveral && workerCount >= models.length && models.length >= 2) {
      let best = busiestWorkerMs(hosts, work, workerCount);
      for (let first = 0; first < models.length; first++) {
        for (let second = first + 1; second < models.length; second++) {
          const pair = [models[first]!, models[second]!] as const;
          const packed = deploy(index, models, work, capable, keepsSeveral, pair);
          const busiest = packed ? busiestWorkerMs(packed, work, workerCount) : Number.POSITIVE_INFINITY;
          if (busiest < best - 1e-9) {
            best = busiest;
            hosts = packed!;
          }
        }
      }
    }
    const schedule: Epoch[] = [];
    let current: EpochAssignment[] = [];
    let currentMask = 0n;
    index.llm.forEach((operator, position) => {
      const workers = hosts
        .get(operator.model)!
        .filter((worker) => index.modelOn[worker]![position] !== undefined)
        .sort((left, right) => left - right);
      const overlaps = current.some((assignment) =>
        assignment.workers.some((worker) => workers.includes(worker)),
      );
      if (overlaps || (index.llmAncestors[position]! & currentMask) !== 0n) {
        schedule.push(current);
        current = [];
        currentMask = 0n;
      }
      current.push({ operator: position, workers });
      currentMask |= bit(position);
    });
    if (current.length > 0) schedule.push(current);
    return {
      schedule,
      warnings: [],
      forcedDisabled: { prefixSharing: true, coalescing: true, migration: true, batching: true },
    };
  },
};

/**
 * A static deployment: one worker per model first (heaviest first), then the
 * other workers where the work per worker is largest; with more models than
 * workers, models share workers in turn. `packed`: those two models share one
 * worker (both must fit its memory at once), the others as above; undefined
 * when no worker can hold both. With more models than workers on executors
 * that keep several (`keepsSeveral`), models go heaviest first to the least
 * busy worker they fit beside the others on.
 */
function deploy(
  index: ProblemIndex,
  models: readonly string[],
  work: ReadonlyMap<string, number>,
  capable: (worker: number, model: string) => boolean,
  keepsSeveral: boolean,
  packed?: readonly [string, string],
): Map<string, number[]> | undefined {
  const workerCount = index.problem.workers.length;
  const hosts = new Map<string, number[]>(models.map((model) => [model, []]));
  const free = index.problem.workers.map((_, worker) => worker);
  if (packed) {
    const shared = free.find((worker) => {
      if (!packed.every((model) => capable(worker, model))) return false;
      const weights = packed.reduce(
        (total, model) =>
          total + (index.workerModels[worker]!.get(model)?.weightsBytes ?? Number.POSITIVE_INFINITY),
        0,
      );
      return weights <= index.problem.workers[worker]!.profile.memoryBytes;
    });
    if (shared === undefined) return undefined;
    for (const model of packed) hosts.get(model)!.push(shared);
    free.splice(free.indexOf(shared), 1);
  }
  if (workerCount >= models.length) {
    for (const model of models) {
      if (hosts.get(model)!.length > 0) continue;
      const worker =
        free.find((candidate) => capable(candidate, model)) ??
        index.problem.workers.findIndex((_, candidate) => capable(candidate, model));
      hosts.get(model)!.push(worker);
      const at = free.indexOf(worker);
      if (at >= 0) free.splice(at, 1);
    }
    for (const worker of free) {
      const model = models
        .filter((candidate) => capable(worker, candidate))
        .sort(
          (left, right) =>
            work.get(right)! / hosts.get(right)!.length - work.get(left)! / hosts.get(left)!.length ||
            left.localeCompare(right),
        )[0];
      if (model !== undefined) hosts.get(model)!.push(worker);
    }
  } else if (keepsSeveral) {
    // Heaviest first, each to the least busy worker its weights fit beside the ones already there
    // (else the least busy: that worker swaps), as a user deploying several models per device would.
    const assigned = index.problem.workers.map(() => ({ work: 0, weights: 0 }));
    for (const model of models) {
      const capableWorkers = index.problem.workers
        .map((_, worker) => worker)
        .filter((worker) => capable(worker, model));
      const weightsOn = (worker: number) => index.workerModels[worker]!.get(model)?.weightsBytes ?? 0;
      const fitting = capableWorkers.filter(
        (worker) =>
          assigned[worker]!.weights + weightsOn(worker) <= index.problem.workers[worker]!.profile.memoryBytes,
      );
      const pool = fitting.length > 0 ? fitting : capableWorkers;
      const worker = pool.reduce((best, candidate) =>
        assigned[candidate]!.work < assigned[best]!.work ? candidate : best,
      );
      assigned[worker]!.work += work.get(model)!;
      assigned[worker]!.weights += weightsOn(worker);
      hosts.get(model)!.push(worker);
    }
  } else {
    models.forEach((model, position) => {
      let worker = position % workerCount;
      while (!capable(worker, model)) worker = (worker + 1) % workerCount;
      hosts.get(model)!.push(worker);
    });
  }
  return hosts;
}

/** The work of the busiest worker of a deployment (each model's work split evenly over its hosts). */
function busiestWorkerMs(
  hosts: ReadonlyMap<string, readonly number[]>,
  work: ReadonlyMap<string, number>,
  workerCount: number,
): number {
  const load = new Array<number>(workerCount).fill(0);
  for (const [model, workers] of hosts)
    for (const worker of workers) load[worker]! += work.get(model)! / workers.length;
  return Math.max(...load);
}
