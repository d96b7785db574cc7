/** A query parameter of an endpoint and how to read it. */
export type ParameterSpec =
  | {
      /** Text passed through as given; an empty value is a value (`keyword=` matches everything). */
      readonly name: string;
      readonly kind: "text";
      readonly required: boolean;
      readonly maxLength: number;
      /** Other names accepted for it (the data API's names before it took the prototype's contract). */
      readonly aliases?: readonly string[];
    }
  | {
      readonly name: string;
      readonly kind: "integer";
      readonly required: boolean;
      readonly minimum: number;
      readonly maximum: number;
      /** Used when the parameter is absent or blank. */
      readonly defaultValue?: number;
      readonly aliases?: readonly string[];
    }
  | {
      /** One of a fixed list, matched case-insensitively and returned in the list's spelling. */
      readonly name: string;
      readonly kind: "enum";
      readonly required: boolean;
      readonly values: readonly string[];
      /** Other spellings of a value, by spelling (upper case), to the value they stand for. */
      readonly valueAliases?: Readonly<Record<string, string>>;
      readonly aliases?: readonly string[];
    };

/** Parsed parameters by their contract name: absent optional parameters without a default are left out. */
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
 * Reads and validates an endpoint's parameters from a query string, under
 * their names or aliases: unknown names, a parameter given more than once
 * (also under two of its names), missing required ones, malformed or
 * out-of-range values are each a {@link ParameterError} naming the parameter
 * as the request spelled it.
 */
export function parseParameters(specs: readonly ParameterSpec[], query: URLSearchParams): ParameterValues {
  const specByName = new Map<string, ParameterSpec>();
  for (const spec of specs) {
    specByName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) specByName.set(alias, spec);
  }
  const given = new Map<ParameterSpec, { name: string; raw: string }>();
  for (const [name, raw] of query) {
    const spec = specByName.get(name);
    if (spec === undefined) {
      throw new ParameterError(
        name,
        `unknown parameter '${name}'; expected ${specs.map((candidate) => `'${candidate.name}'`).join(", ")}`,
      );
    }
    const earlier = given.get(spec);
    if (earlier !== undefined) {
      throw new ParameterError(
        name,
        earlier.name === name
          ? `parameter '${name}' is given more than once`
          : `parameter '${name}' is given more than once (also as '${earlier.name}')`,
      );
    }
    given.set(spec, { name, raw });
  }
  const values: ParameterValues = {};
  for (const spec of specs) {
    const value = given.get(spec);
    const blank = value === undefined || (spec.kind !== "text" && value.raw.trim() === "");
    if (blank) {
      if (spec.kind === "integer" && spec.defaultValue !== undefined) values[spec.name] = spec.defaultValue;
      else if (spec.required)
        throw new ParameterError(spec.name, `missing required parameter '${spec.name}'`);
      continue;
    }
    values[spec.name] = parseValue(spec, value.name, value.raw);
  }
  return values;
}

function parseValue(spec: ParameterSpec, name: string, raw: string): string | number {
  switch (spec.kind) {
    case "text":
      if (raw.length > spec.maxLength)
        throw new ParameterError(name, `parameter '${name}' is longer than ${spec.maxLength} characters`);
      return raw;
    case "integer": {
      const trimmed = raw.trim();
      const value = /^[-+]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < spec.minimum || value > spec.maximum) {
        throw new ParameterError(
          name,
          `parameter '${name}' must be an integer in [${spec.minimum}, ${spec.maximum}] (got '${raw}')`,
        );
      }
      return value;
    }
    case "enum": {
      const normalized = raw.trim().replace(/\s+/g, " ").toUpperCase();
      const match =
        spec.values.find((candidate) => candidate.toUpperCase() === normalized) ??
        spec.valueAliases?.[normalized];
      if (match === undefined) {
        const spellings = [...spec.values, ...Object.keys(spec.valueAliases ?? {})];
        throw new ParameterError(
          name,
          `parameter '${name}' must be one of ${spellings.join(", ")} (got '${raw}')`,
        );
      }
      return match;
    }
  }
}
