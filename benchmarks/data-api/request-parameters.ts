/** A query parameter of an endpoint and how to read it. */
export type ParameterSpec =
  | {
      readonly name: string;
      readonly kind: "text";
      readonly required: boolean;
      readonly maxLength: number;
    }
  | {
      readonly name: string;
      readonly kind: "integer";
      readonly required: boolean;
      readonly minimum: number;
      readonly maximum: number;
      readonly defaultValue?: number;
    }
  | {
      /** One of a fixed list, matched case-insensitively and returned in the list's spelling. */
      readonly name: string;
      readonly kind: "enum";
      readonly required: boolean;
      readonly values: readonly string[];
    };

/** Parsed parameters: absent optional parameters without a default are left out. */
export type ParameterValues = Record<string, string | number>;

/** A bad request parameter; the data API answers 400 naming it. */
export class ParameterError extends Error {
  constructor(
    readonly parameter: string,
    message: string,
  ) {
    super(message);
    this.name = "ParameterError";
  }
}

/**
 * Reads and validates an endpoint's parameters from a query string: unknown
 * names, repeated names, missing required ones, malformed or out-of-range
 * values are each a {@link ParameterError} naming the parameter.
 */
export function parseParameters(specs: readonly ParameterSpec[], query: URLSearchParams): ParameterValues {
  const known = new Set(specs.map((spec) => spec.name));
  for (const name of query.keys()) {
    if (!known.has(name)) {
      throw new ParameterError(
        name,
        `unknown parameter '${name}'; expected ${specs.map((spec) => `'${spec.name}'`).join(", ")}`,
      );
    }
    if (query.getAll(name).length > 1)
      throw new ParameterError(name, `parameter '${name}' is given more than once`);
  }
  const values: ParameterValues = {};
  for (const spec of specs) {
    const raw = query.get(spec.name)?.trim();
    if (raw === undefined || raw === "") {
      if (spec.kind === "integer" && spec.defaultValue !== undefined) values[spec.name] = spec.defaultValue;
      else if (spec.required)
        throw new ParameterError(spec.name, `missing required parameter '${spec.name}'`);
      continue;
    }
    values[spec.name] = parseValue(spec, raw);
  }
  return values;
}

function parseValue(spec: ParameterSpec, raw: string): string | number {
  switch (spec.kind) {
    case "text":
      if (raw.length > spec.maxLength) {
        throw new ParameterError(
          spec.name,
          `parameter '${spec.name}' is longer than ${spec.maxLength} characters`,
        );
      }
      return raw;
    case "integer": {
      const value = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < spec.minimum || value > spec.maximum) {
        throw new ParameterError(
          spec.name,
          `parameter '${spec.name}' must be an integer in [${spec.minimum}, ${spec.maximum}] (got '${raw}')`,
        );
      }
      return value;
    }
    case "enum": {
      const normalized = raw.replace(/\s+/g, " ").toUpperCase();
      const match = spec.values.find((value) => value.toUpperCase() === normalized);
      if (match === undefined) {
        throw new ParameterError(
          spec.name,
          `parameter '${spec.name}' must be one of ${spec.values.join(", ")} (got '${raw}')`,
        );
      }
      return match;
    }
  }
}
