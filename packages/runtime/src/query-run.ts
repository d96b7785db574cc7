import type { CompiledWorkflow, JsonObject, QueryContext } from "@halo/ir";
import type { OperatorTiming } from "./result-sink.js";

/** Why a query failed: the operator and the message, as written in its result record. */
export interface QueryFailure {
  readonly operator: string;
  readonly message: string;
}

/**
 * The execution state of one query: the scopes its finished operators left
 * (children render their inputs from them), how many parents each operator
 * still waits for, and the timings of what ran.
 */
export class QueryRun {
  /** Operator id → scope (inputs, then outputs over them); the input operator's scope is the context. */
  readonly scopes = new Map<string, JsonObject>();
  /** Operator id → outputs of finished operators. */
  readonly outputs = new Map<string, JsonObject>();
  /** Operator id → inputs rendered when the operator became ready. */
  readonly inputs = new Map<string, JsonObject>();
  /** Operator id → parents not finished yet. */
  readonly waitingParents = new Map<string, number>();
  /** Operators whose inputs are complete (ready, running or finished). */
  readonly readyOperators = new Set<string>();
  readonly timings: Record<string, OperatorTiming> = {};
  /** Non-input operators not finished yet. */
  remaining: number;
  failure: QueryFailure | undefined;
  /** Set once its record is written: later results for it are ignored. */
  finished = false;
  readonly startedMs: number;

  constructor(
    readonly query: QueryContext,
    workflow: CompiledWorkflow,
    startedMs: number,
  ) {
    this.startedMs = startedMs;
    let remaining = 0;
    for (const operator of workflow.operators) {
      if (operator.kind === "input") continue;
      remaining += 1;
      // The input operator's scope exists from the start: only other parents are waited for.
      const waiting = operator.parents.filter((parent) => parent !== workflow.inputOperator).length;
      this.waitingParents.set(operator.id, waiting);
    }
    this.remaining = remaining;
  }

  get id(): string {
    return this.query.id;
  }
}
