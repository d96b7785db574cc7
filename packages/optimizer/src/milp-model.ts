import { kvTransferMs } from "@halo/profiles";
import { batchSharedTokens, effectiveBatchSize, leastShardDecodeMs, llmRequestCount } from "./cost-model.js";
import type { LinearConstraint, LinearTerm, MilpModel } from "./milp-solvers.js";
import type { DisabledOptimizations } from "./planning-problem.js";
import { bit, type ProblemIndex } from "./problem-index.js";
import type { Epoch } from "./search-state.js";
import { timingTables } from "./timing-tables.js";

/**
 * The oracle's MILP over the DP's plan space: every plan `dp` may produce
 * (an operator's requests split evenly over any set of workers that can serve
 * it, steps ordered per worker consistently with an epoch order, priced in
 * continuous time by the list scheduler) maps to a feasible point whose
 * objective is at most that plan's makespan. Where the exact price is not
 * linear the model is optimistic, so its optimum (and any solver's dual
 * bound) is a lower bound on every plan in that space:
 *
 * - a split over k workers gives each ⌊N/k⌋ or ⌈N/k⌉ requests (the DP's
 *   remainder goes by worker state; here any assignment that adds up);
 * - engine batches at their largest (nothing else resident, the shared
 *   prefix's KV not counted), waves of the ⌊N/k⌋ share;
 * - a shared prefix used by several operators (same model and key) is
 *   prefilled at least once on each worker that runs one of them, every
 *   other use is free (resident) or costs min(transfer, prefill) — no order
 *   is imposed between them;
 * - a child's inherited context: reused where its parent's shard left it
 *   (at most the share memory keeps, with nothing else resident, and only if
 *   no operator of another model runs on that worker in between), migrated
 *   at the per-token transfer rate without the fixed latency from any
 *   worker's leftover (models switched there are ignored), the rest
 *   recomputed;
 * - model loads: one before a worker's first step and between any two steps
 *   of different models on a worker (sequence-dependent setup).
 *
 * - decode: the cost model's own price (its measured step tables, structured
 *   decode) of the ⌊N/k⌋ or ⌈N/k⌉ share, the least over every batch limit up
 *   to the largest batch, a constant per split size — a linear decode
 *   model here once overpriced large batches of measured profiles (gpt-oss-20b
 *   at 1,000 sequences: 157 ms a step linear, 23 ms measured), and the oracle
 *   called dp's W2 and W5 plans infeasible.
 *
 * Everything else is the cost model's arithmetic: prefill fixed cost per
 * wave and per token, the tool times of the timing tables (releases, gaps
 * between operators, tails, pool and chain bounds).
 *
 * Variables: `x_o_w` (operator o has a shard on worker w), `u_o_k` (o split
 * over k workers), `v_o_w_k` (= x·u), `n_o_w` (requests), `S_o_w`/`D_o_w` (the
 * shard's compute start and duration, load excluded), `F_o` (o's end),
 * `y_a_b` (a before b on every worker they share), `mu_w_m` (model m used on
 * w), prefix reuse `r_o_w`, retained context `h_p_w`, context reuse `z_o_w`,
 * `L_o_w` (requests reusing) and `R_o_w` (migrating), and `C` (makespan).
 */
export interface OracleModel {
  readonly model: MilpModel;
  /** Per LLM operator: the workers that can run it. */
  readonly capable: readonly (readonly number[])[];
  /** The horizon every time variable is bounded by (an incumbent's makespan when given). */
  readonly horizonMs: number;
  /** Identical workers: the first operator's workers are the first ones (a start must be permuted so). */
  readonly symmetric: boolean;
}

export interface OracleModelOptions {
  /** Keep every operator on one worker (the DP's `splitOperators: false`). */
  readonly splitOperators?: boolean;
  /** The makespan of a plan in the space (e.g. dp's): the optimum is at most this, so it bounds every time. */
  readonly upperBoundMs?: number;
}

interface ShardCoefficients {
  /** Fixed cost of a shard of a k-way split (index k−1): waves × (prefill fixed + decode step fixed), plus an unshared prefix. */
  readonly fixedByK: number[];
  /** Cost per request. */
  readonly perRequestMs: number;
  /** Cost of the shared prefix when it is not resident (prefill or the cheaper migration); 0 without a group. */
  readonly groupPrefixMs: number;
  readonly loadMs: number;
  /** Per inherited request: recompute cost and the best migration cost. */
  readonly recomputeInheritedMs: number;
  readonly migrateInheritedMs: number;
  readonly pinned: boolean;
  readonly migration: boolean;
}

/** Builds the oracle's MILP for a problem (see `OracleModel`). */
export function buildOracleModel(
  index: ProblemIndex,
  disabled: DisabledOptimizations,
  options: OracleModelOptions = {},
): OracleModel {
  const workers = index.problem.workers;
  const operatorCount = index.llm.length;
  const split = options.splitOperators !== false;
  const timing = timingTables(index, disabled);
  const requestsOf = index.llm.map((operator) => llmRequestCount(operator.statistics, disabled));

  // Shared-prefix groups: operators with the same model and prefix key.
  const groupOf = new Map<string, number[]>();
  index.llm.forEach((operator, position) => {
    if (disabled.prefixSharing || operator.statistics.sharedPrefixTokens <= 0) return;
    const key = `${operator.model}\u0000${operator.statistics.prefixKey}`;
    groupOf.set(key, [...(groupOf.get(key) ?? []), position]);
  });
  const groupMembers = index.llm.map((operator) => {
    const key = `${operator.model}\u0000${operator.statistics.prefixKey}`;
    const members = groupOf.get(key);
    return members && members.length > 1 ? members : undefined;
  });
  const parentOf = index.llm.map((operator) => {
    const inherited = operator.statistics.inheritedContext;
    if (!inherited || inherited.tokens <= 0 || disabled.prefixSharing) return undefined;
    return index.llmPosition.get(inherited.from);
  });

  const coefficients: (ShardCoefficients | undefined)[][] = [];
  const capable: number[][] = [];
  for (let operator = 0; operator < operatorCount; operator++) {
    const statistics = index.llm[operator]!.statistics;
    const requests = requestsOf[operator]!;
    const row: (ShardCoefficients | undefined)[] = [];
    const workersOf: number[] = [];
    for (let worker = 0; worker < workers.length; worker++) {
      const model = index.modelOn[worker]![operator];
      if (!model) {
        row.push(undefined);
        continue;
      }
      const device = workers[worker]!.profile;
      // The largest batch: nothing else resident and the shared prefix's KV not counted (as when it is resident).
      const batch = effectiveBatchSize(device, model, statistics, 0, disabled, true);
      if (batch === 0) {
        row.push(undefined);
        continue;
      }
      workersOf.push(worker);
      const capabilities = device.capabilities;
      const migration = !disabled.migration && capabilities?.kvTransfer !== false;
      const pinned = capabilities?.prefixPinning !== false;
      const prefixTokens = statistics.sharedPrefixTokens;
      const inheritedTokens = parentOf[operator] === undefined ? 0 : statistics.inheritedContext!.tokens;
      const perRequestPrefix = disabled.prefixSharing ? prefixTokens : 0;
      const { prefill } = model;
      const prefilledPerRequest =
        perRequestPrefix + statistics.uniquePromptTokens - batchSharedTokens(statistics, disabled);
      const hasUnique = prefilledPerRequest - inheritedTokens > 0;
      const perWaveMs = hasUnique ? prefill.fixedMs : 0;
      const perRequestMs = prefill.msPerToken * prefilledPerRequest;
      // Decode as the cost model prices it (measured step tables, structured decode), its least
      // over the batches the shard could get: a constant per share size, never above the price.
      const decodeOf = (count: number) => leastShardDecodeMs(model, statistics, count, batch, disabled);
      const prefixPrefillMs =
        !disabled.prefixSharing && prefixTokens > 0 ? prefill.fixedMs + prefill.msPerToken * prefixTokens : 0;
      let cheapestTransferMs = Number.POSITIVE_INFINITY;
      for (const source of workers)
        cheapestTransferMs = Math.min(cheapestTransferMs, kvTransferMs(source.profile, model, prefixTokens));
      const grouped = groupMembers[operator] !== undefined;
      const groupPrefixMs = grouped
        ? migration
          ? Math.min(prefixPrefillMs, cheapestTransferMs)
          : prefixPrefillMs
        : 0;
      const fixedByK: number[] = [];
      for (let k = 1; k <= workers.length; k++) {
        const least = Math.floor(requests / k);
        const waves = Math.ceil(least / batch);
        const decodeMs = Math.min(decodeOf(least), decodeOf(Math.ceil(requests / k)));
        fixedByK.push(waves * perWaveMs + decodeMs + (grouped ? 0 : prefixPrefillMs));
      }
      const recomputeInheritedMs = prefill.msPerToken * inheritedTokens;
      const transferPerToken = (model.kvBytesPerToken / device.transferBytesPerSecond) * 1000;
      const migrateInheritedMs = migration
        ? Math.min(recomputeInheritedMs, transferPerToken * inheritedTokens)
        : recomputeInheritedMs;
      row.push({
        fixedByK,
        perRequestMs,
        groupPrefixMs,
        loadMs: capabilities?.modelLoading === false ? 0 : model.loadMs,
        recomputeInheritedMs,
        migrateInheritedMs,
        pinned,
        migration,
      });
    }
    if (workersOf.length === 0) {
      throw new Error(`milp: no worker can run LLM operator "${index.llm[operator]!.id}"`);
    }
    coefficients.push(row);
    capable.push(workersOf);
  }
  const shard = (operator: number, worker: number) => coefficients[operator]![worker];
  const canRun = (operator: number, worker: number) => shard(operator, worker) !== undefined;

  // Horizon: an incumbent's makespan, else everything one after another.
  let serialMs = Math.max(0, ...timing.releaseMs) + timing.toolChainMs + timing.poolBoundMs;
  for (let operator = 0; operator < operatorCount; operator++) {
    let longest = 0;
    for (const worker of capable[operator]!) {
      const c = shard(operator, worker)!;
      longest = Math.max(
        longest,
        c.loadMs + c.fixedByK[0]! + c.groupPrefixMs + c.perRequestMs * requestsOf[operator]!,
      );
    }
    const gap = Math.max(timing.tailMs[operator]!, ...timing.successors[operator]!.map((edge) => edge.gapMs));
    serialMs += longest + gap;
  }
  const horizonMs =
    options.upperBoundMs !== undefined && Number.isFinite(options.upperBoundMs)
      ? Math.min(serialMs, options.upperBoundMs * (1 + 1e-9) + 1e-6)
      : serialMs;
  let maxLoadMs = 0;
  for (const row of coefficients) for (const c of row) if (c) maxLoadMs = Math.max(maxLoadMs, c.loadMs);

  const constraints: LinearConstraint[] = [];
  const bounds = new Map<string, { lower: number; upper: number }>();
  const binaries: string[] = [];
  const term = (variable: string, coefficient: number): LinearTerm => ({ variable, coefficient });
  const x = (o: number, w: number) => `x_${o}_${w}`;
  const n = (o: number, w: number) => `n_${o}_${w}`;
  const S = (o: number, w: number) => `S_${o}_${w}`;
  const D = (o: number, w: number) => `D_${o}_${w}`;
  const F = (o: number) => `F_${o}`;
  const h = (o: number, w: number) => `h_${o}_${w}`;
  bounds.set("C", { lower: Math.max(timing.toolChainMs, timing.poolBoundMs), upper: horizonMs });

  // Retained context of parents with inheriting children: h ≤ the parent's share there, ≤ what memory keeps.
  const parents = new Set(parentOf.filter((parent): parent is number => parent !== undefined));
  for (const parent of parents) {
    const statistics = index.llm[parent]!.statistics;
    const requests = requestsOf[parent]!;
    for (const worker of capable[parent]!) {
      const model = index.modelOn[worker]![parent]!;
      const free = workers[worker]!.profile.memoryBytes - model.weightsBytes;
      const prefixBytes = statistics.sharedPrefixTokens * model.kvBytesPerToken;
      // The parent's own prefix is resident beside its contexts unless it never fit.
      const freeAtMost = Math.max(free - prefixBytes, Math.min(prefixBytes, free));
      const perRequestBytes =
        (statistics.uniquePromptTokens + statistics.outputTokens) * model.kvBytesPerToken;
      const cap =
        perRequestBytes > 0 ? Math.min(1, Math.max(0, freeAtMost) / (requests * perRequestBytes)) : 1;
      bounds.set(h(parent, worker), { lower: 0, upper: cap });
      constraints.push({
        name: `held_share_${parent}_${worker}`,
        terms: [term(h(parent, worker), requests), term(n(parent, worker), -1)],
        upper: 0,
      });
    }
  }

  const reuses: { child: number; parent: number; worker: number }[] = [];
  for (let operator = 0; operator < operatorCount; operator++) {
    const requests = requestsOf[operator]!;
    const workersOf = capable[operator]!;
    const maxK = split ? workersOf.length : 1;
    // Split size: exactly one k, and as many workers.
    const kTerms: LinearTerm[] = [];
    for (let k = 1; k <= maxK; k++) {
      binaries.push(`u_${operator}_${k}`);
      kTerms.push(term(`u_${operator}_${k}`, 1));
    }
    constraints.push({ name: `one_k_${operator}`, terms: kTerms, lower: 1, upper: 1 });
    constraints.push({
      name: `k_workers_${operator}`,
      terms: [
        ...workersOf.map((worker) => term(x(operator, worker), 1)),
        ...Array.from({ length: maxK }, (_, k) => term(`u_${operator}_${k + 1}`, -(k + 1))),
      ],
      lower: 0,
      upper: 0,
    });
    constraints.push({
      name: `requests_${operator}`,
      terms: workersOf.map((worker) => term(n(operator, worker), 1)),
      lower: requests,
      upper: requests,
    });
    for (let k = 1; k <= maxK; k++) {
      constraints.push({
        name: `k_count_${operator}_${k}`,
        terms: [
          ...workersOf.map((worker) => term(`v_${operator}_${worker}_${k}`, 1)),
          term(`u_${operator}_${k}`, -k),
        ],
        lower: 0,
        upper: 0,
      });
    }
    for (const worker of workersOf) {
      const c = shard(operator, worker)!;
      binaries.push(x(operator, worker));
      bounds.set(n(operator, worker), { lower: 0, upper: requests });
      bounds.set(S(operator, worker), { lower: timing.releaseMs[operator]!, upper: horizonMs });
      bounds.set(D(operator, worker), { lower: 0, upper: horizonMs });
      const vTerms: LinearTerm[] = [];
      const least: LinearTerm[] = [term(n(operator, worker), 1)];
      const most: LinearTerm[] = [term(n(operator, worker), 1)];
      const duration: LinearTerm[] = [term(D(operator, worker), 1)];
      for (let k = 1; k <= maxK; k++) {
        const v = `v_${operator}_${worker}_${k}`;
        const u = `u_${operator}_${k}`;
        bounds.set(v, { lower: 0, upper: 1 });
        vTerms.push(term(v, 1));
        constraints.push({
          name: `vu_${operator}_${worker}_${k}`,
          terms: [term(v, 1), term(u, -1)],
          upper: 0,
        });
        constraints.push({
          name: `vx_${operator}_${worker}_${k}`,
          terms: [term(v, 1), term(x(operator, worker), -1)],
          upper: 0,
        });
        constraints.push({
          name: `vux_${operator}_${worker}_${k}`,
          terms: [term(v, 1), term(u, -1), term(x(operator, worker), -1)],
          lower: -1,
        });
        least.push(term(v, -Math.floor(requests / k)));
        most.push(term(v, -Math.ceil(requests / k)));
        if (c.fixedByK[k - 1]! !== 0) duration.push(term(v, -c.fixedByK[k - 1]!));
      }
      constraints.push({
        name: `vsum_${operator}_${worker}`,
        terms: [...vTerms, term(x(operator, worker), -1)],
        lower: 0,
        upper: 0,
      });
      constraints.push({ name: `n_least_${operator}_${worker}`, terms: least, lower: 0 });
      constraints.push({ name: `n_most_${operator}_${worker}`, terms: most, upper: 0 });
      duration.push(term(n(operator, worker), -c.perRequestMs));
      // A shared prefix: paid unless resident (r); at least one use per worker pays it.
      if (c.groupPrefixMs > 0) {
        const r = `r_${operator}_${worker}`;
        bounds.set(r, { lower: 0, upper: 1 });
        duration.push(term(x(operator, worker), -c.groupPrefixMs), term(r, c.groupPrefixMs));
        constraints.push({
          name: `r_x_${operator}_${worker}`,
          terms: [term(r, 1), term(x(operator, worker), -1)],
          upper: 0,
        });
        if (!c.pinned)
          constraints.push({ name: `r_pin_${operator}_${worker}`, terms: [term(r, 1)], upper: 0 });
      }
      // Inherited context: reuse L where the parent's shard left it, migrate R from the others' leftovers.
      const parent = parentOf[operator];
      if (parent !== undefined && c.recomputeInheritedMs > 0) {
        const L = `L_${operator}_${worker}`;
        const R = `R_${operator}_${worker}`;
        const local = c.pinned && canRun(parent, worker);
        const remote = c.migration && c.migrateInheritedMs < c.recomputeInheritedMs;
        const served: LinearTerm[] = [term(n(operator, worker), -1)];
        if (local) {
          const z = `z_${operator}_${worker}`;
          binaries.push(z);
          reuses.push({ child: operator, parent, worker });
          bounds.set(L, { lower: 0, upper: requests });
          duration.push(term(L, c.recomputeInheritedMs));
          served.push(term(L, 1));
          constraints.push({
            name: `L_h_${operator}_${worker}`,
            terms: [term(L, 1), term(h(parent, worker), -requests)],
            upper: 0,
          });
          constraints.push({
            name: `L_z_${operator}_${worker}`,
            terms: [term(L, 1), term(z, -requests)],
            upper: 0,
          });
          constraints.push({
            name: `z_x_${operator}_${worker}`,
            terms: [term(z, 1), term(x(operator, worker), -1)],
            upper: 0,
          });
          constraints.push({
            name: `z_p_${operator}_${worker}`,
            terms: [term(z, 1), term(x(parent, worker), -1)],
            upper: 0,
          });
        }
        if (remote) {
          bounds.set(R, { lower: 0, upper: requests });
          duration.push(term(R, c.recomputeInheritedMs - c.migrateInheritedMs));
          served.push(term(R, 1));
          const others = capable[parent]!.filter((other) => other !== worker);
          constraints.push({
            name: `R_h_${operator}_${worker}`,
            terms: [term(R, 1), ...others.map((other) => term(h(parent, other), -requests))],
            upper: 0,
          });
        }
        if (served.length > 1)
          constraints.push({ name: `served_${operator}_${worker}`, terms: served, upper: 0 });
      }
      constraints.push({ name: `duration_${operator}_${worker}`, terms: duration, lower: 0, upper: 0 });
      // The shard: after its model's first load, after its inputs, before the operator's end.
      if (c.loadMs > 0) {
        // Every shard waits for a load of its model (unused shards' starts are free to wait too).
        const least = Math.min(...workersOf.map((other) => shard(operator, other)!.loadMs));
        const lower = Math.max(timing.releaseMs[operator]!, least);
        bounds.set(S(operator, worker), { lower, upper: Math.max(lower, horizonMs) });
        constraints.push({
          name: `first_load_${operator}_${worker}`,
          terms: [term(S(operator, worker), 1), term(x(operator, worker), -c.loadMs)],
          lower: 0,
        });
      }
      constraints.push({
        name: `end_${operator}_${worker}`,
        terms: [term(F(operator), 1), term(S(operator, worker), -1), term(D(operator, worker), -1)],
        lower: 0,
      });
      for (const edge of timing.predecessors[operator]!) {
        constraints.push({
          name: `after_${edge.operator}_${operator}_${worker}`,
          terms: [term(S(operator, worker), 1), term(F(edge.operator), -1)],
          lower: edge.gapMs,
        });
      }
    }
    // Every held context serves one request.
    const parent = parentOf[operator];
    if (parent !== undefined) {
      const served: LinearTerm[] = [];
      for (const worker of workersOf) {
        if (bounds.has(`L_${operator}_${worker}`)) served.push(term(`L_${operator}_${worker}`, 1));
        if (bounds.has(`R_${operator}_${worker}`)) served.push(term(`R_${operator}_${worker}`, 1));
      }
      if (served.length > 0) {
        constraints.push({
          name: `held_total_${operator}`,
          terms: [...served, ...capable[parent]!.map((worker) => term(h(parent, worker), -requests))],
          upper: 0,
        });
      }
    }
    bounds.set(F(operator), { lower: 0, upper: horizonMs });
    constraints.push({
      name: `makespan_${operator}`,
      terms: [term("C", 1), term(F(operator), -1)],
      lower: timing.tailMs[operator]!,
    });
  }

  // Shared prefixes: on each worker, some operator of the group pays it.
  const seenGroups = new Set<readonly number[]>();
  for (const members of groupMembers) {
    if (!members || seenGroups.has(members)) continue;
    seenGroups.add(members);
    for (let worker = 0; worker < workers.length; worker++) {
      const here = members.filter(
        (member) => canRun(member, worker) && shard(member, worker)!.groupPrefixMs > 0,
      );
      if (here.length < 2) continue;
      const paying = here.flatMap((member) => [
        term(x(member, worker), 1),
        term(`r_${member}_${worker}`, -1),
      ]);
      for (const member of here) {
        constraints.push({
          name: `prefix_paid_${member}_${worker}`,
          terms: [...paying, term(x(member, worker), -1)],
          lower: 0,
        });
      }
    }
  }

  // Per worker: its steps one after another (y: a before b on every worker they share, as epochs order
  // them), a load between steps of different models; and its busy time bounds the makespan.
  const orderVariables = new Set<string>();
  const ancestor = (first: number, second: number) => (index.llmAncestors[second]! & bit(first)) !== 0n;
  for (let first = 0; first < operatorCount; first++) {
    for (let second = first + 1; second < operatorCount; second++) {
      const ordered = ancestor(first, second);
      const sameModel = index.llm[first]!.model === index.llm[second]!.model;
      const y = `y_${first}_${second}`;
      for (const worker of capable[first]!) {
        if (!canRun(second, worker)) continue;
        const setupFirstToSecond = sameModel ? 0 : shard(second, worker)!.loadMs;
        const setupSecondToFirst = sameModel ? 0 : shard(first, worker)!.loadMs;
        // S_a + D_a ≤ horizon − tail(a); S_b ≥ release(b).
        const bigFirst = Math.max(
          1,
          horizonMs - timing.tailMs[first]! + setupFirstToSecond - timing.releaseMs[second]!,
        );
        const bigSecond = Math.max(
          1,
          horizonMs - timing.tailMs[second]! + setupSecondToFirst - timing.releaseMs[first]!,
        );
        const gate = (big: number) => [term(x(first, worker), -big), term(x(second, worker), -big)];
        if (ordered) {
          if (setupFirstToSecond === 0) continue;
          constraints.push({
            name: `switch_${first}_${second}_${worker}`,
            terms: [
              term(S(second, worker), 1),
              term(S(first, worker), -1),
              term(D(first, worker), -1),
              ...gate(bigFirst),
            ],
            lower: setupFirstToSecond - 2 * bigFirst,
          });
          continue;
        }
        orderVariables.add(y);
        constraints.push({
          name: `before_${first}_${second}_${worker}`,
          terms: [
            term(S(second, worker), 1),
            term(S(first, worker), -1),
            term(D(first, worker), -1),
            ...gate(bigFirst),
            term(y, -bigFirst),
          ],
          lower: setupFirstToSecond - 3 * bigFirst,
        });
        constraints.push({
          name: `behind_${first}_${second}_${worker}`,
          terms: [
            term(S(first, worker), 1),
            term(S(second, worker), -1),
            term(D(second, worker), -1),
            ...gate(bigSecond),
            term(y, bigSecond),
          ],
          lower: setupSecondToFirst - 2 * bigSecond,
        });
      }
    }
  }
  for (const y of orderVariables) binaries.push(y);
  for (let worker = 0; worker < workers.length; worker++) {
    const busy: LinearTerm[] = [term("C", 1)];
    const models = new Map<string, number[]>();
    for (let operator = 0; operator < operatorCount; operator++) {
      if (!canRun(operator, worker)) continue;
      busy.push(term(D(operator, worker), -1));
      const model = index.llm[operator]!.model;
      models.set(model, [...(models.get(model) ?? []), operator]);
    }
    if (busy.length === 1) continue;
    let modelIndex = 0;
    for (const [, operators] of models) {
      const loadMs = shard(operators[0]!, worker)!.loadMs;
      if (loadMs > 0) {
        const mu = `mu_${worker}_${modelIndex}`;
        bounds.set(mu, { lower: 0, upper: 1 });
        busy.push(term(mu, -loadMs));
        for (const operator of operators) {
          constraints.push({
            name: `mu_${worker}_${modelIndex}_${operator}`,
            terms: [term(mu, 1), term(x(operator, worker), -1)],
            lower: 0,
          });
        }
      }
      modelIndex++;
    }
    constraints.push({ name: `busy_${worker}`, terms: busy, lower: 0 });
  }

  // A context is dropped at a model switch: no operator of another model on the worker between a parent
  // and a child that reuses its context there.
  const before = (first: number, second: number): { terms: LinearTerm[]; constant: number } | undefined => {
    if (first < second) {
      if (ancestor(first, second)) return { terms: [], constant: 1 };
      const y = `y_${first}_${second}`;
      return orderVariables.has(y) ? { terms: [term(y, 1)], constant: 0 } : undefined;
    }
    if (ancestor(second, first)) return undefined;
    const y = `y_${second}_${first}`;
    return orderVariables.has(y) ? { terms: [term(y, -1)], constant: 1 } : undefined;
  };
  for (const { child, parent, worker } of reuses) {
    for (let other = 0; other < operatorCount; other++) {
      if (other === child || other === parent || index.llm[other]!.model === index.llm[child]!.model)
        continue;
      if (!canRun(other, worker)) continue;
      const afterParent = before(parent, other);
      const beforeChild = before(other, child);
      if (!afterParent || !beforeChild) continue;
      constraints.push({
        name: `kept_${child}_${worker}_${other}`,
        terms: [
          term(`z_${child}_${worker}`, 1),
          term(x(other, worker), 1),
          ...afterParent.terms,
          ...beforeChild.terms,
        ],
        upper: 3 - afterParent.constant - beforeChild.constant,
      });
    }
  }

  // Symmetry: identical workers are interchangeable, so number them by the first operator they serve:
  // operator j may use worker w+1 only if some operator i ≤ j uses worker w.
  const allIdentical =
    new Set(index.workerClass).size === 1 &&
    capable.every((workersOf) => workersOf.length === workers.length);
  if (allIdentical) {
    for (let worker = 0; worker + 1 < workers.length; worker++) {
      for (let operator = 0; operator < operatorCount; operator++) {
        const earlier: LinearTerm[] = [];
        for (let first = 0; first <= operator; first++) earlier.push(term(x(first, worker), 1));
        constraints.push({
          name: `symmetry_${operator}_${worker}`,
          terms: [...earlier, term(x(operator, worker + 1), -1)],
          lower: 0,
        });
      }
    }
  }
  return {
    model: { objective: [term("C", 1)], constraints, bounds, binaries },
    capable,
    horizonMs,
    symmetric: allIdentical,
  };
}

/**
 * The schedule of a solution: one operator per epoch, by its earliest shard
 * start (ties in topological order), on the workers it has shards on (the
 * sooner started first: they take the remainder of the split).
 */
export function scheduleFromOracleSolution(
  index: ProblemIndex,
  oracle: OracleModel,
  values: ReadonlyMap<string, number>,
): Epoch[] {
  const placed = index.llm.map((_, operator) => {
    const shards = oracle.capable[operator]!.filter(
      (worker) => (values.get(`x_${operator}_${worker}`) ?? 0) > 0.5,
    ).map((worker) => ({ worker, startMs: values.get(`S_${operator}_${worker}`) ?? 0 }));
    if (shards.length === 0) {
      // Numerically no shard: the worker with the largest x.
      let best = oracle.capable[operator]![0]!;
      for (const worker of oracle.capable[operator]!) {
        if ((values.get(`x_${operator}_${worker}`) ?? 0) > (values.get(`x_${operator}_${best}`) ?? 0))
          best = worker;
      }
      shards.push({ worker: best, startMs: values.get(`S_${operator}_${best}`) ?? 0 });
    }
    shards.sort((left, right) => left.startMs - right.startMs || left.worker - right.worker);
    return { operator, workers: shards.map((entry) => entry.worker), startMs: shards[0]!.startMs };
  });
  placed.sort((left, right) => left.startMs - right.startMs || left.operator - right.operator);
  // Each worker runs its steps in the solution's order (y: a before b on every worker they share), and
  // every operator after its ancestors; the earliest start first among those free to go. Orders the
  // relaxation allows but epochs cannot (a cycle over three workers) fall back to the earliest start.
  const sharesWorker = (left: (typeof placed)[number], right: (typeof placed)[number]) =>
    left.workers.some((worker) => right.workers.includes(worker));
  const mustPrecede = (first: (typeof placed)[number], second: (typeof placed)[number]) => {
    if ((index.llmAncestors[second.operator]! & bit(first.operator)) !== 0n) return true;
    if (!sharesWorker(first, second)) return false;
    const low = Math.min(first.operator, second.operator);
    const high = Math.max(first.operator, second.operator);
    const y = values.get(`y_${low}_${high}`);
    if (y === undefined) return false;
    return y > 0.5 === (first.operator === low);
  };
  let doneMask = 0n;
  const epochs: Epoch[] = [];
  const pending = [...placed];
  while (pending.length > 0) {
    let chosen = pending.findIndex(
      (entry) => !pending.some((other) => other !== entry && mustPrecede(other, entry)),
    );
    if (chosen < 0)
      chosen = pending.findIndex((entry) => (index.llmAncestors[entry.operator]! & ~doneMask) === 0n);
    const [entry] = pending.splice(Math.max(0, chosen), 1);
    doneMask |= bit(entry!.operator);
    epochs.push([{ operator: entry!.operator, workers: entry!.workers }]);
  }
  return epochs;
}
