import { lowerBoundTables } from "../lower-bound.js";
import { bit } from "../problem-index.js";
import type { Epoch, EpochAssignment } from "../search-state.js";
import type { PlanningStrategy } from "./planning-strategy.js";

/**
 * `naive`: per-query orchestration, for estimates. Models are placed on
 * workers statically (by total work; several models share a worker when there
 * are more models than workers); each query walks its DAG and every request
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
    const hosts = new Map<string, number[]>(models.map((model) => [model, []]));
    const capable = (worker: number, model: string) =>
      index.llm.some(
        (operator, position) => operator.model === model && index.modelOn[worker]![position] !== undefined,
      );
    if (workerCount >= models.length) {
      // One worker per model first (heaviest first), then extra workers where the work per worker is largest.
      const free = index.problem.workers.map((_, worker) => worker);
      for (const model of models) {
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
    } else {
      models.forEach((model, position) => {
        let worker = position % workerCount;
        while (!capable(worker, model)) worker = (worker + 1) % workerCount;
        hosts.get(model)!.push(worker);
      });
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
