/**
 * Batch instantiation and consolidation (DESIGN §4): the workflow × N query
 * contexts → per-query operator instances; requests that can be known before
 * running (every ancestor is the input or a pure processor, which is run here)
 * are rendered and keyed, identical coalescable ones grouped, and each LLM
 * operator's prompts measured for prefix sharing.
 */
import {
  inputScope,
  isCoalescable,
  operatorInputs,
  operatorScope,
  renderOperatorRequest,
  requestKey,
} from "./operator-execution.js";
import { PrefixTrie } from "./prefix-trie.js";
import { processorRegistry, runProcessor } from "./processors/processor-registry.js";
import { countTokens } from "./token-count.js";
import type {
  CompiledWorkflow,
  JsonObject,
  Operator,
  OperatorInstance,
  OperatorKind,
  QueryContext,
} from "./types.js";

/** Every non-input operator instantiated for every query. */
export interface BatchInstances {
  readonly workflow: CompiledWorkflow;
  readonly queries: readonly QueryContext[];
  /** Per operator (workflow order, input operator excluded): one instance per query, in query order. */
  readonly byOperator: ReadonlyMap<string, readonly OperatorInstance[]>;
}

/** Whether an operator's requests can ever coalesce (before seeing any request). */
function operatorCoalescable(operator: Operator): boolean {
  if (operator.kind === "llm") return operator.temperature === 0;
  if (operator.kind === "sql") return true;
  return operator.coalesce;
}

/** Instantiates the batch, running pure processors so that their descendants' requests are known. */
export function instantiateBatch(
  workflow: CompiledWorkflow,
  queries: readonly QueryContext[],
): BatchInstances {
  const byOperator = new Map<string, OperatorInstance[]>();
  const operators = workflow.operators.filter((operator) => operator.kind !== "input");
  for (const operator of operators) byOperator.set(operator.id, []);
  for (const query of queries) {
    const scopes = new Map<string, JsonObject>([
      [workflow.inputOperator, inputScope(workflow, query.context)],
    ]);
    for (const operator of operators) {
      const instances = byOperator.get(operator.id) as OperatorInstance[];
      if (!operator.parents.every((parent) => scopes.has(parent))) {
        instances.push({
          queryId: query.id,
          operator: operator.id,
          coalescable: operatorCoalescable(operator),
        });
        continue;
      }
      const inputs = operatorInputs(workflow, operator.id, scopes);
      const request = renderOperatorRequest(operator, inputs);
      instances.push({
        queryId: query.id,
        operator: operator.id,
        request,
        requestKey: requestKey(request),
        coalescable: isCoalescable(operator, request),
      });
      if (operator.kind === "processor" && processorRegistry.get(operator.processor)?.pure !== false) {
        try {
          scopes.set(operator.id, operatorScope(inputs, runProcessor(operator, inputs)));
        } catch {
          // A processor failing on this query's data leaves its descendants unknown until run time.
        }
      }
    }
  }
  return { workflow, queries, byOperator };
}

/** Identical requests of one operator that run once. */
export interface CoalescingGroup {
  readonly requestKey: string;
  readonly queryIds: readonly string[];
}

/** How much of an LLM operator's prompts is shared (chars, and tokens of the LLaMA-2 vocabulary). */
export interface PrefixStatistics {
  readonly staticPrefixChars: number;
  readonly staticPrefixTokens: number;
  /** Instances whose prompt is known before running, and how many distinct prompts they have. */
  readonly knownPrompts: number;
  readonly distinctPrompts: number;
  /** Beyond the static prefix: the prefix common to every known prompt. */
  readonly commonPrefixChars: number;
  readonly commonPrefixTokens: number;
  /** Beyond the static prefix: the longest prefix shared by at least two distinct prompts. */
  readonly longestSharedPrefixChars: number;
  readonly longestSharedPrefixTokens: number;
  /** Per-query parts of the distinct prompts: total, and what remains if shared parts are computed once. */
  readonly suffixChars: number;
  readonly uniqueSuffixChars: number;
  /** Tokens of the per-query parts of the distinct prompts (each counted on its own). */
  readonly suffixTokens: number;
}

/** The consolidated view of one operator over the batch. */
export interface OperatorConsolidation {
  readonly operator: string;
  readonly kind: OperatorKind;
  readonly model?: string;
  readonly instances: number;
  /** Instances whose request is known before running / only at run time. */
  readonly knownRequests: number;
  readonly unknownRequests: number;
  /** Distinct request keys among the known requests. */
  readonly distinctRequests: number;
  /** Known instances served by another instance's call (0 unless the operator coalesces). */
  readonly coalescedInstances: number;
  readonly coalescable: boolean;
  /** Groups of more than one query sharing a request, largest first. */
  readonly groups: readonly CoalescingGroup[];
  readonly prefix?: PrefixStatistics;
}

export interface ConsolidatedBatch {
  readonly workflow: string;
  readonly queryCount: number;
  readonly operators: readonly OperatorConsolidation[];
  readonly totals: {
    readonly instances: number;
    readonly knownRequests: number;
    readonly unknownRequests: number;
    readonly coalescedInstances: number;
    /** Calls left after coalescing what is known now (run-time coalescing can only lower it). */
    readonly calls: number;
  };
  readonly instances: BatchInstances;
}

export interface ConsolidateOptions {
  /** Token counter for prefix statistics (default: the LLaMA-2 vocabulary's `countTokens`). */
  readonly countTokens?: (text: string) => number;
}

function prefixStatistics(
  operator: Operator & { kind: "llm" },
  instances: readonly OperatorInstance[],
  count: (text: string) => number,
): PrefixStatistics {
  const staticPrefix = operator.prompt.staticPrefix;
  const trie = new PrefixTrie();
  const distinct = new Set<string>();
  let known = 0;
  let suffixTokens = 0;
  for (const instance of instances) {
    if (instance.request?.kind !== "llm") continue;
    known += 1;
    const suffix = instance.request.suffix;
    trie.insert(suffix);
    if (!distinct.has(suffix)) {
      distinct.add(suffix);
      suffixTokens += count(suffix);
    }
  }
  const statistics = trie.statistics();
  const staticPrefixTokens = count(staticPrefix);
  return {
    staticPrefixChars: staticPrefix.length,
    staticPrefixTokens,
    knownPrompts: known,
    distinctPrompts: distinct.size,
    commonPrefixChars: known === 0 ? 0 : statistics.commonPrefix.length,
    commonPrefixTokens: known === 0 ? 0 : count(statistics.commonPrefix),
    longestSharedPrefixChars: statistics.longestSharedPrefix.length,
    longestSharedPrefixTokens: count(statistics.longestSharedPrefix),
    suffixChars: [...distinct].reduce((sum, suffix) => sum + suffix.length, 0),
    uniqueSuffixChars: statistics.uniqueChars,
    suffixTokens,
  };
}

/** Instantiates and consolidates a batch: per operator, known requests, coalescing groups, prefix sharing. */
export function consolidateBatch(
  workflow: CompiledWorkflow,
  queries: readonly QueryContext[],
  options: ConsolidateOptions = {},
): ConsolidatedBatch {
  const count = options.countTokens ?? countTokens;
  const batch = instantiateBatch(workflow, queries);
  const operators: OperatorConsolidation[] = [];
  for (const operator of workflow.operators) {
    const instances = batch.byOperator.get(operator.id);
    if (!instances) continue;
    const keyed = new Map<string, string[]>();
    let known = 0;
    for (const instance of instances) {
      if (instance.requestKey === undefined) continue;
      known += 1;
      const ids = keyed.get(instance.requestKey);
      if (ids) ids.push(instance.queryId);
      else keyed.set(instance.requestKey, [instance.queryId]);
    }
    const coalescable = operatorCoalescable(operator);
    const coalesced = instances.filter(
      (instance) => instance.requestKey !== undefined && instance.coalescable,
    ).length;
    const coalescableKeys = new Set(
      instances
        .filter((instance) => instance.requestKey !== undefined && instance.coalescable)
        .map((instance) => instance.requestKey),
    );
    const groups = coalescable
      ? [...keyed.entries()]
          .filter(([, ids]) => ids.length > 1)
          .map(([key, ids]) => ({ requestKey: key, queryIds: ids }))
          .sort(
            (left, right) =>
              right.queryIds.length - left.queryIds.length || (left.requestKey < right.requestKey ? -1 : 1),
          )
      : [];
    operators.push({
      operator: operator.id,
      kind: operator.kind,
      ...(operator.kind === "llm" ? { model: operator.model } : {}),
      instances: instances.length,
      knownRequests: known,
      unknownRequests: instances.length - known,
      distinctRequests: keyed.size,
      coalescedInstances: coalesced - coalescableKeys.size,
      coalescable,
      groups,
      ...(operator.kind === "llm" ? { prefix: prefixStatistics(operator, instances, count) } : {}),
    });
  }
  const sum = (pick: (entry: OperatorConsolidation) => number): number =>
    operators.reduce((total, entry) => total + pick(entry), 0);
  return {
    workflow: workflow.name,
    queryCount: queries.length,
    operators,
    totals: {
      instances: sum((entry) => entry.instances),
      knownRequests: sum((entry) => entry.knownRequests),
      unknownRequests: sum((entry) => entry.unknownRequests),
      coalescedInstances: sum((entry) => entry.coalescedInstances),
      calls: sum((entry) => entry.instances - entry.coalescedInstances),
    },
    instances: batch,
  };
}
