/**
 * Turns a checked graph into the compiled IR: unrolls bounded loops into a
 * static DAG, wires atomized tool operators to their LLM operator, checks that
 * every input has a provider, computes topological levels (graphology-dag) and
 * freezes the result.
 */
import { DirectedGraph } from "graphology";
import { hasCycle, topologicalGenerations } from "graphology-dag";
import { deepFreeze } from "./canonical-json.js";
import {
  type CheckedEdge,
  type CheckedGraph,
  type CheckedLoop,
  type ReadPaths,
  toolOperatorId,
} from "./graph-spec-check.js";
import type { PathSegment, ProblemCollector } from "./problems.js";
import { withPromptLayout } from "./prompt-layout.js";
import { resolveScope, type ScopeOrigin } from "./scope-resolution.js";
import type { CompiledWorkflow, DataEdge, JsonValue, Operator, SourceRef, Template } from "./types.js";
import { IR_VERSION } from "./types.js";

/** Facts about the document that the graph itself does not carry. */
export interface AssemblyOptions {
  readonly dialect: CompiledWorkflow["dialect"];
  readonly source: string;
  readonly dataset?: CompiledWorkflow["dataset"];
}

/** The id of iteration `iteration` (1-based) of a loop body node. */
export function iterationId(nodeId: string, iteration: number): string {
  return `${nodeId}__iter${iteration}`;
}

type MutableOperator = Operator & { parents: string[]; children: string[] };

function withIdentity(
  operator: Operator,
  id: string,
  extra: { owner?: string; loop?: Operator["loop"]; constantInputs?: Record<string, JsonValue> },
): MutableOperator {
  const copy = { ...operator, id, parents: [] as string[], children: [] as string[] } as MutableOperator;
  if (extra.owner !== undefined) (copy as { owner?: string }).owner = extra.owner;
  if (extra.loop !== undefined) (copy as { loop?: Operator["loop"] }).loop = extra.loop;
  if (extra.constantInputs !== undefined && Object.keys(extra.constantInputs).length > 0) {
    (copy as { constantInputs?: Record<string, JsonValue> }).constantInputs = extra.constantInputs;
  }
  return copy;
}

function restrictMapping(
  mapping: Readonly<Record<string, Template>> | null,
  inputs: readonly string[],
): Readonly<Record<string, Template>> | null {
  if (mapping === null) return null;
  const restricted: Record<string, Template> = {};
  for (const [name, template] of Object.entries(mapping))
    if (inputs.includes(name)) restricted[name] = template;
  return restricted;
}

/** Assembles the compiled workflow; undefined (with problems in the collector) when an input has no provider. */
export function assembleWorkflow(
  checked: CheckedGraph,
  collector: ProblemCollector,
  options: AssemblyOptions,
): CompiledWorkflow | undefined {
  const loopOf = new Map<string, CheckedLoop>();
  for (const loop of checked.loops) for (const nodeId of loop.body) loopOf.set(nodeId, loop);
  const instancesOf = (nodeId: string): string[] => {
    const loop = loopOf.get(nodeId);
    if (!loop) return [nodeId];
    return Array.from({ length: loop.iterations }, (_, index) => iterationId(nodeId, index + 1));
  };

  const constants = new Map<string, Record<string, JsonValue>>();
  for (const loop of checked.loops) {
    for (const edge of loop.feedback) {
      const target = checked.nodes.find((node) => node.id === edge.to);
      const first = iterationId(edge.to, 1);
      const values = constants.get(first) ?? {};
      for (const [name, value] of Object.entries(loop.initial)) {
        if (target?.operator.inputs.includes(name)) values[name] = value as JsonValue;
      }
      constants.set(first, values);
    }
  }

  const operators = new Map<string, MutableOperator>();
  const origins = new Map<string, ScopeOrigin>();
  const toolsByOwner = new Map<string, MutableOperator[]>();
  const duplicate = (id: string, path: readonly PathSegment[]): boolean => {
    if (!operators.has(id)) return false;
    collector.error(
      "duplicate-id",
      `operator id "${id}" is produced twice (rename a node or tool result)`,
      path,
    );
    return true;
  };
  for (const node of checked.nodes) {
    const loop = loopOf.get(node.id);
    instancesOf(node.id).forEach((instanceId, index) => {
      const loopInfo = loop ? { id: loop.id, iteration: index + 1 } : undefined;
      const constantInputs = constants.get(instanceId);
      if (duplicate(instanceId, node.path)) return;
      operators.set(
        instanceId,
        withIdentity(node.operator, instanceId, {
          ...(loopInfo ? { loop: loopInfo } : {}),
          ...(constantInputs ? { constantInputs } : {}),
        }),
      );
      origins.set(instanceId, { nodeId: node.id, reads: node.reads });
      for (const tool of node.tools) {
        const kind =
          tool.kind === "sql" || tool.kind === "http" || tool.kind === "processor" ? tool.kind : "processor";
        const toolId = toolOperatorId(instanceId, kind, tool.outputs[0] as string);
        if (duplicate(toolId, node.path)) continue;
        // A tool of a loop's first iteration reads the same initial values as its LLM operator.
        const toolConstants: Record<string, JsonValue> = {};
        for (const [name, value] of Object.entries(constantInputs ?? {})) {
          if (tool.inputs.includes(name)) toolConstants[name] = value;
        }
        const copy = withIdentity(tool, toolId, {
          owner: instanceId,
          ...(loopInfo ? { loop: loopInfo } : {}),
          constantInputs: toolConstants,
        });
        operators.set(toolId, copy);
        const reads: ReadPaths = node.toolReads[tool.outputs[0] as string] ?? {};
        origins.set(toolId, { nodeId: node.id, reads, owner: instanceId });
        toolsByOwner.set(instanceId, [...(toolsByOwner.get(instanceId) ?? []), copy]);
      }
    });
  }
  if (collector.errorCount > 0) return undefined;

  const edges: DataEdge[] = [];
  /** Spec paths of the edges that came from the spec (mapping problems are reported there). */
  const edgePaths = new Map<DataEdge, readonly PathSegment[]>();
  const addEdge = (
    from: string,
    to: string,
    mapping: DataEdge["mapping"],
    source: SourceRef,
    path?: readonly PathSegment[],
  ): void => {
    const edge: DataEdge = { from, to, mapping, source };
    edges.push(edge);
    if (path) edgePaths.set(edge, path);
  };
  const locate = (edge: CheckedEdge): SourceRef => collector.locator.locate(edge.path);
  for (const edge of checked.edges) {
    const fromLoop = loopOf.get(edge.from);
    const toLoop = loopOf.get(edge.to);
    if (fromLoop && fromLoop === toLoop) {
      for (let iteration = 1; iteration <= fromLoop.iterations; iteration += 1) {
        addEdge(
          iterationId(edge.from, iteration),
          iterationId(edge.to, iteration),
          edge.mapping,
          locate(edge),
          edge.path,
        );
      }
      continue;
    }
    const from = fromLoop ? iterationId(edge.from, fromLoop.iterations) : edge.from;
    for (const to of instancesOf(edge.to)) addEdge(from, to, edge.mapping, locate(edge), edge.path);
  }
  for (const loop of checked.loops) {
    for (const edge of loop.feedback) {
      for (let iteration = 1; iteration < loop.iterations; iteration += 1) {
        addEdge(
          iterationId(edge.from, iteration),
          iterationId(edge.to, iteration + 1),
          edge.mapping,
          locate(edge),
          edge.path,
        );
      }
    }
  }
  // The scope rule, part 1: mapping roots outside the parent's scope come from the nearest ancestor.
  const scope = resolveScope({
    operators,
    origins,
    nodeEdges: [...edges],
    loopIterations: (nodeId) => loopOf.get(nodeId)?.iterations ?? 1,
    collector,
  });
  for (let index = 0; index < edges.length; index += 1) {
    const edge = edges[index] as DataEdge;
    const resolved = scope.resolveMappingRoots(edge, edgePaths.get(edge) ?? []);
    if (resolved) edges[index] = resolved;
  }
  if (collector.errorCount > 0) return undefined;
  // An atomized tool depends only on the owner's parents that supply what it reads (so a query's SQL or
  // HTTP call can start before the owner's other parents finish) and feeds its owner. A tool that reads
  // nothing hangs off the input operator so it still runs once per query.
  const ownerEdges = [...edges];
  const scopeOf = (id: string): readonly string[] => {
    const operator = operators.get(id) as Operator;
    return [...operator.inputs, ...operator.outputs];
  };
  for (const [owner, tools] of toolsByOwner) {
    for (const tool of tools) {
      let linked = false;
      for (const edge of ownerEdges) {
        if (edge.to !== owner) continue;
        const mapping = restrictMapping(edge.mapping, tool.inputs);
        const supplies =
          mapping === null
            ? scopeOf(edge.from).some((name) => tool.inputs.includes(name))
            : Object.keys(mapping).length > 0;
        if (!supplies) continue;
        edges.push(scope.restrictRootSources({ ...edge, to: tool.id, mapping }));
        linked = true;
      }
      if (!linked) addEdge(checked.inputNode, tool.id, {}, tool.source);
      addEdge(tool.id, owner, null, tool.source);
    }
  }

  // The scope rule, part 2: every name an operator reads that no edge provides comes from the
  // nearest ancestor producing it, through an added edge; no provider is an error.
  edges.push(...scope.resolveReads(edges));
  if (collector.errorCount > 0) return undefined;
  const linked = new Set<string>();
  for (const edge of edges) {
    const key = `${edge.from}\u0000${edge.to}`;
    if (linked.has(key)) continue;
    linked.add(key);
    (operators.get(edge.from) as MutableOperator).children.push(edge.to);
    (operators.get(edge.to) as MutableOperator).parents.push(edge.from);
  }

  const graph = new DirectedGraph();
  for (const id of operators.keys()) graph.addNode(id);
  for (const edge of edges) graph.mergeEdge(edge.from, edge.to);
  if (hasCycle(graph)) {
    collector.error("internal", "the unrolled workflow has a cycle although the spec has none", ["graph"]);
    return undefined;
  }
  const levels = topologicalGenerations(graph).map((level) => [...level].sort());
  const ordered: Operator[] = [];
  for (const level of levels) {
    for (const id of level) {
      const operator = operators.get(id) as MutableOperator;
      operator.parents = [...new Set(operator.parents)].sort();
      operator.children = [...new Set(operator.children)].sort();
      ordered.push(operator);
    }
  }
  const inputOperator = operators.get(checked.inputNode) as Operator;
  const endOperators = ordered
    .filter(
      (operator) => operator.children.length === 0 && (operator.kind !== "input" || ordered.length === 1),
    )
    .map((operator) => operator.id);
  const workflow: CompiledWorkflow = {
    irVersion: IR_VERSION,
    name: checked.name,
    description: checked.description,
    dialect: options.dialect,
    source: options.source,
    operators: ordered,
    edges,
    levels,
    inputOperator: inputOperator.id,
    inputFields: [...inputOperator.outputs],
    endOperators,
    ...(options.dataset ? { dataset: options.dataset } : {}),
  };
  // Prompts are laid out once the graph is whole: the layout classes inputs by who provides them.
  return withPromptLayout(deepFreeze(workflow), undefined, checked.promptLayout);
}
