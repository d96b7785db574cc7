/** A JSON schema an item carried is unusable; the message says where. */
export class InvalidJsonSchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidJsonSchemaError";
  }
}

const schemaTypes = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);
const nestedSchemaLists = ["anyOf", "oneOf", "allOf", "prefixItems"] as const;

function checkSchema(schema: unknown, path: string): void {
  if (typeof schema === "boolean") return;
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new InvalidJsonSchemaError(`${path}: a schema must be an object`);
  }
  const node = schema as Record<string, unknown>;
  const type = node["type"];
  if (type !== undefined) {
    const types = Array.isArray(type) ? type : [type];
    for (const entry of types) {
      if (typeof entry !== "string" || !schemaTypes.has(entry)) {
        throw new InvalidJsonSchemaError(`${path}.type: ${JSON.stringify(entry)} is not a JSON schema type`);
      }
    }
  }
  const properties = node["properties"];
  if (properties !== undefined) {
    if (typeof properties !== "object" || properties === null || Array.isArray(properties)) {
      throw new InvalidJsonSchemaError(`${path}.properties: must be an object`);
    }
    for (const [name, child] of Object.entries(properties)) checkSchema(child, `${path}.properties.${name}`);
  }
  const required = node["required"];
  if (
    required !== undefined &&
    (!Array.isArray(required) || required.some((entry) => typeof entry !== "string"))
  ) {
    throw new InvalidJsonSchemaError(`${path}.required: must be a list of property names`);
  }
  if (node["items"] !== undefined) checkSchema(node["items"], `${path}.items`);
  if (node["additionalProperties"] !== undefined) {
    checkSchema(node["additionalProperties"], `${path}.additionalProperties`);
  }
  if (node["enum"] !== undefined && !Array.isArray(node["enum"])) {
    throw new InvalidJsonSchemaError(`${path}.enum: must be a list`);
  }
  for (const key of nestedSchemaLists) {
    const list = node[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new InvalidJsonSchemaError(`${path}.${key}: must be a list of schemas`);
    for (const [index, child] of list.entries()) checkSchema(child, `${path}.${key}[${index}]`);
  }
}

/**
 * Parses a serialized JSON schema and checks its structure (types, properties,
 * nested schemas), since the grammar builder silently ignores what it does not know.
 */
export function parseJsonSchemaText(text: string): Record<string, unknown> {
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new InvalidJsonSchemaError(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new InvalidJsonSchemaError("the schema must be a JSON object");
  }
  checkSchema(schema, "schema");
  return schema as Record<string, unknown>;
}
