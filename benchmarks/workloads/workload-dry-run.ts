/**
 * Runs one query through a workflow operator by operator, exactly as the IR
 * renders each request (inputs along the edges, templates, atomized tools),
 * with the caller answering LLM, SQL and HTTP requests. The workload tests use
 * it to execute every tool request of a workload against real backends while
 * LLM outputs are supplied; it is not the runtime (no batching, no plan).
 */
import type {
  CompiledWorkflow,
  JsonObject,
  JsonValue,
  LlmOperator,
  OperatorRequest,
  QueryContext,
} from "@halo/ir";
import {
  inputScope,
  operatorInputs,
  operatorScope,
  renderOperatorRequest,
  runProcessor,
  toolOutputs,
} from "@halo/ir/internal";

type RequestOf<Kind extends OperatorRequest["kind"]> = Extract<OperatorRequest, { kind: Kind }>;

/** Answers the requests of a dry run. Tool results become outputs as the IR's `toolOutputs` says. */
export interface DryRunHandlers {
  /** The LLM operator's outputs (one string per declared output, as `parseLlmOutput` would give). */
  llm(operator: LlmOperator, inputs: JsonObject, request: RequestOf<"llm">): JsonObject | Promise<JsonObject>;
  /** The statement's rows. */
  sql(operatorId: string, request: RequestOf<"sql">): Promise<JsonValue>;
  /** The response body. */
  http(operatorId: string, request: RequestOf<"http">): Promise<JsonValue>;
}

/** One operator instance of a dry run. */
export interface DryRunStep {
  readonly operator: string;
  readonly request: OperatorRequest;
  readonly inputs: JsonObject;
  readonly outputs: JsonObject;
}

/** Runs every operator of the workflow for one query, in the workflow's topological order. */
export async function dryRunQuery(
  workflow: CompiledWorkflow,
  query: QueryContext,
  handlers: DryRunHandlers,
): Promise<DryRunStep[]> {
  const scopes = new Map<string, JsonObject>([[workflow.inputOperator, inputScope(workflow, query.context)]]);
  const steps: DryRunStep[] = [];
  for (const operator of workflow.operators) {
    if (operator.kind === "input") continue;
    const inputs = operatorInputs(workflow, operator.id, scopes);
    const request = renderOperatorRequest(operator, inputs);
    let outputs: JsonObject;
    if (operator.kind === "llm" && request.kind === "llm") {
      outputs = await handlers.llm(operator, inputs, request);
    } else if (operator.kind === "processor") {
      outputs = runProcessor(operator, inputs);
    } else if (request.kind === "sql") {
      outputs = toolOutputs(operator, await handlers.sql(operator.id, request));
    } else if (request.kind === "http") {
      outputs = toolOutputs(operator, await handlers.http(operator.id, request));
    } else {
      throw new Error(`operator "${operator.id}" rendered a ${request.kind} request`);
    }
    scopes.set(operator.id, operatorScope(inputs, outputs));
    steps.push({ operator: operator.id, request, inputs, outputs });
  }
  return steps;
}
