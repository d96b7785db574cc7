/** The contract of a local processor (a registered, pure function of its inputs). */
import type { PathSegment } from "../problems.js";
import type { JsonObject, ProcessorOperator } from "../types.js";

/** Computes a processor's result fields from its inputs and config. Must not throw on odd inputs. */
export type ProcessorFunction = (
  inputs: JsonObject,
  config: JsonObject,
  operator: ProcessorOperator,
) => JsonObject;

/** A config problem found at validation time; `path` is relative to the node's `config`. */
export interface ProcessorConfigProblem {
  readonly code: "invalid-config" | "invalid-regex";
  readonly path: readonly PathSegment[];
  readonly message: string;
}

/** A registered processor. */
export interface ProcessorDefinition {
  readonly run: ProcessorFunction;
  /** Checks a node's `config` when the workflow is validated. */
  readonly validateConfig?: (config: JsonObject) => readonly ProcessorConfigProblem[];
  /**
   * Pure processors (the default) depend only on inputs and config, so batch
   * analysis may run them ahead of execution to know their descendants' requests.
   */
  readonly pure?: boolean;
}
