/**
 * The queries-in-flight sweep of the per-query systems (`naive`, `langgraph`):
 * each runs once per setting (16, 64, 256 and all queries by default), and
 * Halo is compared with the best setting, so that no baseline is measured
 * below its best.
 */
import { BenchInputError } from "./bench-input-error.js";

/** A sweep setting as written: a number of queries in flight, or `all`. */
export type ConcurrencySetting = number | "all";

/** The default sweep. */
export const DEFAULT_CONCURRENCY_SWEEP: readonly ConcurrencySetting[] = Object.freeze([16, 64, 256, "all"]);

/** Parses `16,64,256,all`; a bad entry is a {@link BenchInputError} naming `flag`. */
export function parseConcurrencySweep(text: string, flag: string): ConcurrencySetting[] {
  const entries = text
    .split(",")
    .map((entry) => entry.trim().toLowerCase())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0)
    throw new BenchInputError(`${flag}: name at least one setting (e.g. 16,64,256,all)`);
  const settings: ConcurrencySetting[] = [];
  for (const entry of entries) {
    if (entry === "all") settings.push("all");
    else if (/^\d+$/.test(entry) && Number(entry) >= 1 && Number.isSafeInteger(Number(entry)))
      settings.push(Number(entry));
    else
      throw new BenchInputError(
        `${flag}: expected queries in flight (an integer >= 1) or all (got "${entry}")`,
      );
  }
  return settings;
}

/** The sweep as written on a command line. */
export function formatConcurrencySweep(settings: readonly ConcurrencySetting[]): string {
  return settings.map(String).join(",");
}

/** One run of a sweep: the setting as written and the queries in flight it means for this batch. */
export interface ResolvedSetting {
  readonly setting: string;
  readonly queriesInFlight: number;
}

/**
 * The runs a sweep needs for `queries` queries: each setting capped at the
 * batch size, settings that mean the same number run once (under the
 * largest name: `all` over `256` when the batch has 200 queries), in
 * ascending order.
 */
export function resolveSweep(settings: readonly ConcurrencySetting[], queries: number): ResolvedSetting[] {
  const byLimit = new Map<number, string>();
  for (const setting of settings) {
    const limit = setting === "all" ? queries : Math.min(setting, queries);
    const current = byLimit.get(limit);
    // `all` names a run best when a number and `all` coincide; else the largest number.
    if (current === undefined || setting === "all" || (current !== "all" && setting > Number(current)))
      byLimit.set(limit, String(setting));
  }
  return [...byLimit.entries()]
    .sort(([left], [right]) => left - right)
    .map(([queriesInFlight, setting]) => ({ setting, queriesInFlight }));
}

/** What the selection reads of one setting's run. */
export interface SweepRun {
  readonly deviceMakespanMs: number;
  readonly queries: { readonly ok: number; readonly failed: number };
}

/**
 * The index of the best run of a sweep: the fewest failed queries first (a
 * run that failed queries did less work), then the shortest makespan, then
 * the earlier run. Undefined for an empty sweep.
 */
export function bestRunIndex(runs: readonly SweepRun[]): number | undefined {
  let best: number | undefined;
  runs.forEach((run, index) => {
    if (best === undefined) {
      best = index;
      return;
    }
    const current = runs[best]!;
    if (
      run.queries.failed < current.queries.failed ||
      (run.queries.failed === current.queries.failed && run.deviceMakespanMs < current.deviceMakespanMs)
    )
      best = index;
  });
  return best;
}
