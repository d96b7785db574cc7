/** The registry of local processors and `runProcessor`, which maps results to declared outputs. */
import { isJsonObject } from "../canonical-json.js";
import type { JsonObject, ProcessorOperator } from "../types.js";
import type { ProcessorDefinition, ProcessorFunction } from "./processor-definition.js";
import { regexParamExtractor } from "./regex-param-extractor.js";

/** Processors by name. Validation rejects nodes naming a processor that is not registered. */
export class ProcessorRegistry {
  private readonly definitions = new Map<string, ProcessorDefinition>();

  /** Registers (or replaces) a processor; a bare function is a pure processor without config checks. */
  register(name: string, definition: ProcessorDefinition | ProcessorFunction): this {
    if (name.trim().length === 0) throw new Error("a processor needs a non-empty name");
    this.definitions.set(
      name,
      typeof definition === "function" ? { run: definition, pure: true } : definition,
    );
    return this;
  }

  get(name: string): ProcessorDefinition | undefined {
    return this.definitions.get(name);
  }

  has(name: string): boolean {
    return this.definitions.has(name);
  }

  /** Registered names, sorted. */
  names(): string[] {
    return [...this.definitions.keys()].sort();
  }
}

/** The process-wide registry, with `regex_param_extractor` built in. */
export const processorRegistry = new ProcessorRegistry().register(
  "regex_param_extractor",
  regexParamExtractor,
);

/**
 * Runs a processor operator on its inputs and returns its outputs: with one
 * declared output that the result has no field of, that output is the whole
 * result object; otherwise each output is the result's field of that name (null if absent).
 */
export function runProcessor(
  operator: ProcessorOperator,
  inputs: JsonObject,
  registry: ProcessorRegistry = processorRegistry,
): JsonObject {
  const definition = registry.get(operator.processor);
  if (!definition) throw new Error(`processor "${operator.processor}" of "${operator.id}" is not registered`);
  const result = definition.run(inputs, operator.config, operator);
  const fields: JsonObject = isJsonObject(result) ? result : {};
  const only = operator.outputs.length === 1 ? operator.outputs[0] : undefined;
  if (only !== undefined && !Object.hasOwn(fields, only)) return { [only]: fields };
  const outputs: JsonObject = {};
  for (const name of operator.outputs)
    outputs[name] = Object.hasOwn(fields, name) ? (fields[name] ?? null) : null;
  return outputs;
}
