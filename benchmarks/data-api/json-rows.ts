import type { JsonValue } from "@halo/ir";

/** A result row as plain JSON, as the SQL tools return it on either backend. */
export type JsonRow = Record<string, JsonValue>;
