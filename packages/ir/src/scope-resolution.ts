/**
 * The per-query scope rule (the prototype keeps one growing context per query,
 * made precise here). A name an operator reads — a declared input, a template
 * root of its prompt, SQL parameters, HTTP url/params/headers/body, or a root
 * of an edge mapping into it — resolves to:
 *   1. the value an edge mapping into it gives (or an unmapped edge passes through);
 *   2. else its own output in an earlier iteration of its loop;
 *   3. else the output of the nearest ancestor that produces it (shortest DAG
 *      distance; of tied producers the one the others precede; two unrelated
 *      producers at the same distance are an `ambiguous-ancestor` problem).
 * Only ancestors count, so a query's values never depend on execution order.
 * Resolved reads become explicit edges (`implicit: true`) from the producer,
 * so the runtime, the consolidated graph and request keys need nothing else.
 */
import type { ReadPaths } from "./graph-spec-check.js";
import type { PathSegment, ProblemCollector } from "./problems.js";
import { templateRoots } from "./template.js";
import type { DataEdge, Operator, Template } from "./types.js";

/** Where an operator instance came from: its node, the spec paths of its reads, its owner (tools). */
export interface ScopeOrigin {
  readonly nodeId: string;
  readonly reads: ReadPaths;
  /** For an atomized tool: the instance id of its LLM operator, whose position in the graph it shares. */
  readonly owner?: string;
}

export interface ScopeResolutionInput {
  readonly operators: ReadonlyMap<string, Operator>;
  readonly origins: ReadonlyMap<string, ScopeOrigin>;
  /** Edges between node instances (spec edges, unrolled): they define ancestry and distance. */
  readonly nodeEdges: readonly DataEdge[];
  /** Iterations of the loop a node is in (1 when it is in none). */
  readonly loopIterations: (nodeId: string) => number;
  readonly collector: ProblemCollector;
}

type Resolution =
  | { readonly kind: "found"; readonly producer: string }
  | { readonly kind: "none" }
  | { readonly kind: "ambiguous"; readonly producers: readonly [string, string]; readonly distance: number };

function referenceTemplate(name: string): Template {
  return { text: `{{ ${name} }}`, parts: [{ kind: "ref", root: name, path: [] }] };
}

/** What an operator's scope holds once it ran: its inputs and outputs. */
function scopeOf(operator: Operator): Set<string> {
  return new Set([...operator.inputs, ...operator.outputs]);
}

/** Applies the scope rule to one assembled (unrolled) workflow. */
export function resolveScope(input: ScopeResolutionInput) {
  const { operators, origins, collector } = input;
  const predecessors = new Map<string, string[]>();
  for (const edge of input.nodeEdges) {
    const list = predecessors.get(edge.to);
    if (list) list.push(edge.from);
    else predecessors.set(edge.to, [edge.from]);
  }
  const distances = new Map<string, Map<string, number>>();
  /** Every ancestor of a node instance with its shortest distance (breadth-first over parents). */
  const ancestorDistances = (anchor: string): Map<string, number> => {
    let found = distances.get(anchor);
    if (found) return found;
    found = new Map();
    let frontier = [anchor];
    for (let distance = 1; frontier.length > 0; distance += 1) {
      const next: string[] = [];
      for (const id of frontier) {
        for (const parent of predecessors.get(id) ?? []) {
          if (found.has(parent) || parent === anchor) continue;
          found.set(parent, distance);
          next.push(parent);
        }
      }
      frontier = next;
    }
    distances.set(anchor, found);
    return found;
  };
  /** What a node instance adds to the query's context: its outputs and its tools' results. */
  const produced = (id: string): readonly string[] => {
    const operator = operators.get(id);
    if (!operator) return [];
    return operator.kind === "llm" ? [...operator.outputs, ...operator.toolResultInputs] : operator.outputs;
  };
  const anchorOf = (id: string): string => origins.get(id)?.owner ?? id;

  const resolve = (operatorId: string, name: string): Resolution => {
    const anchor = anchorOf(operatorId);
    const ancestors = ancestorDistances(anchor);
    const operator = operators.get(anchor);
    const origin = origins.get(anchor);
    // Rule 2: the node's own output from an earlier iteration of its loop, latest first.
    if (operator?.loop && origin) {
      for (let iteration = operator.loop.iteration - 1; iteration >= 1; iteration -= 1) {
        const earlier = `${origin.nodeId}__iter${iteration}`;
        if (ancestors.has(earlier) && produced(earlier).includes(name))
          return { kind: "found", producer: earlier };
      }
    }
    // Rule 3: the nearest producing ancestor.
    let best = Number.POSITIVE_INFINITY;
    let tied: string[] = [];
    for (const [ancestor, distance] of ancestors) {
      if (!produced(ancestor).includes(name)) continue;
      if (distance < best) {
        best = distance;
        tied = [ancestor];
      } else if (distance === best) tied.push(ancestor);
    }
    if (tied.length === 0) return { kind: "none" };
    // Among producers at the same distance, one that all the others precede overwrote their value.
    const latest = tied
      .filter(
        (candidate) => !tied.some((other) => other !== candidate && ancestorDistances(other).has(candidate)),
      )
      .sort();
    if (latest.length === 1) return { kind: "found", producer: latest[0] as string };
    return { kind: "ambiguous", producers: [latest[0] as string, latest[1] as string], distance: best };
  };

  const reportAmbiguous = (
    resolution: Extract<Resolution, { kind: "ambiguous" }>,
    name: string,
    reader: string,
    path: readonly PathSegment[],
  ): void => {
    const [first, second] = resolution.producers;
    collector.error(
      "ambiguous-ancestor",
      `"${name}" read by "${reader}" is produced by two unrelated ancestors at distance ${resolution.distance}, "${first}" and "${second}"; map it on an edge to say which`,
      path,
    );
  };

  return {
    /**
     * An edge whose mapping reads roots outside its parent's scope, with the
     * ancestor supplying each in `rootSources`; undefined when it reads none.
     * Unresolvable roots are `unbound-variable`, ties `ambiguous-ancestor`.
     */
    resolveMappingRoots(edge: DataEdge, path: readonly PathSegment[]): DataEdge | undefined {
      if (!edge.mapping) return undefined;
      const parent = operators.get(edge.from);
      if (!parent) return undefined;
      const parentScope = scopeOf(parent);
      const sources: Record<string, string> = {};
      for (const [key, template] of Object.entries(edge.mapping)) {
        for (const root of templateRoots(template)) {
          if (parentScope.has(root) || Object.hasOwn(sources, root)) continue;
          const keyPath = [...path, "mapping", key];
          const resolution = resolve(edge.to, root);
          const reader = origins.get(edge.to)?.nodeId ?? edge.to;
          if (resolution.kind === "found") sources[root] = resolution.producer;
          else if (resolution.kind === "ambiguous") reportAmbiguous(resolution, root, reader, keyPath);
          else {
            collector.error(
              "unbound-variable",
              `${JSON.stringify(template.text)} reads "${root}", which is not in the scope of "${origins.get(edge.from)?.nodeId ?? edge.from}" (its inputs and outputs: ${[...parentScope].join(", ") || "none"}) and no ancestor of "${reader}" produces it`,
              keyPath,
            );
          }
        }
      }
      return Object.keys(sources).length === 0 ? undefined : { ...edge, rootSources: sources };
    },

    /** A copy of an owner's edge for one of its tools: `rootSources` kept for the roots its mapping still reads. */
    restrictRootSources(edge: DataEdge): DataEdge {
      const { rootSources, ...rest } = edge;
      if (!rootSources || !rest.mapping) return rest;
      const roots = new Set(Object.values(rest.mapping).flatMap((template) => templateRoots(template)));
      const kept = Object.fromEntries(Object.entries(rootSources).filter(([root]) => roots.has(root)));
      return Object.keys(kept).length === 0 ? rest : { ...rest, rootSources: kept };
    },

    /**
     * The edges that make the scope rule explicit: a dependency edge from each
     * mapping root's source, and for every name an operator reads that no edge
     * provides, an edge from the ancestor that produces it. Problems go to the collector.
     */
    resolveReads(edges: readonly DataEdge[]): DataEdge[] {
      const added: DataEdge[] = [];
      const incoming = new Map<string, DataEdge[]>();
      const pairs = new Set<string>();
      for (const edge of edges) {
        const list = incoming.get(edge.to);
        if (list) list.push(edge);
        else incoming.set(edge.to, [edge]);
        pairs.add(`${edge.from}\u0000${edge.to}`);
      }
      for (const edge of edges) {
        for (const producer of new Set(Object.values(edge.rootSources ?? {}))) {
          const pair = `${producer}\u0000${edge.to}`;
          if (pairs.has(pair)) continue;
          pairs.add(pair);
          added.push({ from: producer, to: edge.to, mapping: {}, implicit: true, source: edge.source });
        }
      }
      const reported = new Set<string>();
      for (const operator of operators.values()) {
        if (operator.kind === "input") continue;
        const origin = origins.get(operator.id);
        if (!origin) continue;
        const provided = new Set(Object.keys(operator.constantInputs ?? {}));
        for (const edge of incoming.get(operator.id) ?? []) {
          if (edge.mapping) for (const name of Object.keys(edge.mapping)) provided.add(name);
          else for (const name of scopeOf(operators.get(edge.from) as Operator)) provided.add(name);
        }
        const byProducer = new Map<string, Record<string, Template>>();
        for (const name of operator.inputs) {
          if (provided.has(name)) continue;
          const path = origin.reads[name] ?? [];
          const resolution = resolve(operator.id, name);
          const key = `${origin.nodeId}\u0000${origin.owner === undefined ? "" : operator.outputs[0]}\u0000${name}`;
          if (resolution.kind === "found") {
            const mapping = byProducer.get(resolution.producer) ?? {};
            mapping[name] = referenceTemplate(name);
            byProducer.set(resolution.producer, mapping);
            continue;
          }
          if (reported.has(key)) continue;
          reported.add(key);
          if (resolution.kind === "ambiguous") {
            reportAmbiguous(resolution, name, origin.nodeId, path);
            continue;
          }
          const declared = path.length >= 2 && path[path.length - 2] === "inputs";
          const where = operator.loop
            ? ` in iteration ${operator.loop.iteration} of loop "${operator.loop.id}"`
            : "";
          const hint =
            operator.loop?.iteration === 1
              ? " (give it in the loop's initial values or an edge into the loop)"
              : "";
          const ancestors = [...ancestorDistances(anchorOf(operator.id)).keys()].sort();
          const reader =
            origin.owner === undefined
              ? `"${origin.nodeId}"`
              : `tool "${operator.outputs[0]}" of "${origin.nodeId}"`;
          collector.error(
            declared ? "unprovided-input" : "unbound-variable",
            `${declared ? "input" : "name"} "${name}" of ${reader}${where} is given by no edge mapping and produced by no ancestor (ancestors: ${ancestors.length === 0 ? "none" : ancestors.join(", ")})${hint}`,
            path,
          );
        }
        for (const [producer, mapping] of byProducer) {
          added.push({
            from: producer,
            to: operator.id,
            mapping,
            implicit: true,
            source: collector.locator.locate(origin.reads[Object.keys(mapping)[0] as string] ?? []),
          });
        }
      }
      return added;
    },
  };
}
