/** Lookups over a compiled workflow: operators by id, incoming edges, graphology view, ancestors. */
import { DirectedGraph } from "graphology";
import type { CompiledWorkflow, DataEdge, Operator } from "./types.js";

interface WorkflowIndex {
  readonly operators: ReadonlyMap<string, Operator>;
  readonly positions: ReadonlyMap<string, number>;
  readonly incoming: ReadonlyMap<string, readonly DataEdge[]>;
}

// Compiled workflows are frozen, so an index built once per workflow object stays valid.
const indexes = new WeakMap<CompiledWorkflow, WorkflowIndex>();

function indexOf(workflow: CompiledWorkflow): WorkflowIndex {
  let index = indexes.get(workflow);
  if (!index) {
    const incoming = new Map<string, DataEdge[]>();
    for (const edge of workflow.edges) {
      const list = incoming.get(edge.to);
      if (list) list.push(edge);
      else incoming.set(edge.to, [edge]);
    }
    index = {
      operators: new Map(workflow.operators.map((operator) => [operator.id, operator])),
      positions: new Map(workflow.operators.map((operator, position) => [operator.id, position])),
      incoming,
    };
    indexes.set(workflow, index);
  }
  return index;
}

/** The operator with this id, or undefined. */
export function findOperator(workflow: CompiledWorkflow, id: string): Operator | undefined {
  return indexOf(workflow).operators.get(id);
}

/** The operator with this id; throws when the workflow has none (a caller bug, not user input). */
export function getOperator(workflow: CompiledWorkflow, id: string): Operator {
  const operator = findOperator(workflow, id);
  if (!operator) throw new Error(`workflow "${workflow.name}" has no operator "${id}"`);
  return operator;
}

/** Edges into an operator, in the workflow's edge order. */
export function incomingEdges(workflow: CompiledWorkflow, id: string): readonly DataEdge[] {
  return indexOf(workflow).incoming.get(id) ?? [];
}

/** Node attributes of `toGraph`. */
export interface OperatorNodeAttributes {
  readonly operator: Operator;
}

/** Edge attributes of `toGraph`: the data edges between the two operators. */
export interface DataEdgeAttributes {
  readonly edges: readonly DataEdge[];
}

/** A graphology directed graph of the workflow: one node per operator, one edge per parent → child pair. */
export function toGraph(
  workflow: CompiledWorkflow,
): DirectedGraph<OperatorNodeAttributes, DataEdgeAttributes> {
  const graph = new DirectedGraph<OperatorNodeAttributes, DataEdgeAttributes>();
  for (const operator of workflow.operators) graph.addNode(operator.id, { operator });
  for (const edge of workflow.edges) {
    if (graph.hasEdge(edge.from, edge.to)) {
      graph.updateEdgeAttribute(edge.from, edge.to, "edges", (edges) => [...(edges ?? []), edge]);
    } else {
      graph.addEdge(edge.from, edge.to, { edges: [edge] });
    }
  }
  return graph;
}

function closure(
  workflow: CompiledWorkflow,
  id: string,
  next: (operator: Operator) => readonly string[],
): string[] {
  const index = indexOf(workflow);
  const seen = new Set<string>();
  const stack = [...next(getOperator(workflow, id))];
  while (stack.length > 0) {
    const current = stack.pop() as string;
    if (seen.has(current)) continue;
    seen.add(current);
    const operator = index.operators.get(current);
    if (operator) stack.push(...next(operator));
  }
  return [...seen].sort(
    (left, right) => (index.positions.get(left) ?? 0) - (index.positions.get(right) ?? 0),
  );
}

/** Every operator this one depends on, directly or not, in topological order. */
export function ancestorsOf(workflow: CompiledWorkflow, id: string): string[] {
  return closure(workflow, id, (operator) => operator.parents);
}

/** Every operator that depends on this one, directly or not, in topological order. */
export function descendantsOf(workflow: CompiledWorkflow, id: string): string[] {
  return closure(workflow, id, (operator) => operator.children);
}
