/**
 * DuckDB values → the JSON shape of `result-values.ts`, recursing through lists, arrays,
 * structs, maps and unions with their declared element types.
 */
import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  DuckDBUnionValue,
  type DuckDBValue,
} from "@duckdb/node-api";
import type { JsonValue } from "@halo/ir";
import {
  bytesToHex,
  decimalTextToJson,
  epochMillisecondsToIso,
  floatToJson,
  integerToJson,
} from "./result-values.js";

/** One DuckDB value of column type `type` as JSON. */
export function duckDbValueToJson(value: DuckDBValue, type: DuckDBType): JsonValue {
  if (value === null) return null;
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return Boolean(value);
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
      return Number(value);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
    case DuckDBTypeId.BIGNUM:
      return typeof value === "bigint" ? integerToJson(value) : String(value);
    case DuckDBTypeId.FLOAT:
      return floatToJson(shortestFloat32(Number(value)));
    case DuckDBTypeId.DOUBLE:
      return floatToJson(Number(value));
    case DuckDBTypeId.DECIMAL:
      return value instanceof DuckDBDecimalValue ? decimalTextToJson(value.toString()) : String(value);
    case DuckDBTypeId.VARCHAR:
      return type.alias === "JSON" ? parseJsonText(String(value)) : String(value);
    case DuckDBTypeId.DATE:
      if (!(value instanceof DuckDBDateValue) || value.isFinite) return String(value);
      return value.days > 0 ? "infinity" : "-infinity";
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue
        ? timestampToIso(value.micros, 1000n, value)
        : String(value);
    case DuckDBTypeId.TIMESTAMP_S:
      return value instanceof DuckDBTimestampSecondsValue
        ? timestampToIso(value.seconds * 1000n, 1n, value)
        : String(value);
    case DuckDBTypeId.TIMESTAMP_MS:
      return value instanceof DuckDBTimestampMillisecondsValue
        ? timestampToIso(value.millis, 1n, value)
        : String(value);
    case DuckDBTypeId.TIMESTAMP_NS:
      return value instanceof DuckDBTimestampNanosecondsValue
        ? timestampToIso(value.nanos, 1_000_000n, value)
        : String(value);
    case DuckDBTypeId.BLOB:
      return value instanceof DuckDBBlobValue ? bytesToHex(value.bytes) : String(value);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return value instanceof DuckDBListValue || value instanceof DuckDBArrayValue
        ? value.items.map((item) => duckDbValueToJson(item, type.valueType))
        : String(value);
    case DuckDBTypeId.STRUCT: {
      if (!(value instanceof DuckDBStructValue)) return String(value);
      return Object.fromEntries(
        type.entryNames.map((name, index) => [
          name,
          duckDbValueToJson(value.entries[name] ?? null, type.entryTypes[index]!),
        ]),
      );
    }
    case DuckDBTypeId.MAP: {
      if (!(value instanceof DuckDBMapValue)) return String(value);
      const entries = value.entries.map(
        (entry) =>
          [
            duckDbValueToJson(entry.key, type.keyType),
            duckDbValueToJson(entry.value, type.valueType),
          ] as const,
      );
      // A map with text keys reads best as an object; other keys cannot be object keys faithfully.
      return type.keyType.typeId === DuckDBTypeId.VARCHAR
        ? Object.fromEntries(entries.map(([key, item]) => [String(key), item]))
        : entries.map(([key, item]) => ({ key, value: item }));
    }
    case DuckDBTypeId.UNION: {
      if (!(value instanceof DuckDBUnionValue)) return String(value);
      const memberType = type.memberTypes[type.memberTags.indexOf(value.tag)];
      return memberType === undefined ? String(value.value) : duckDbValueToJson(value.value, memberType);
    }
    case DuckDBTypeId.SQLNULL:
      return null;
    default:
      // TIME, TIME_TZ, INTERVAL, UUID, ENUM, BIT, …: DuckDB's own text form.
      return String(value);
  }
}

/** Ticks since the epoch at `ticksPerMillisecond` → ISO text (floor, so instants before 1970 stay exact). */
function timestampToIso(ticks: bigint, ticksPerMillisecond: bigint, value: { toString(): string }): string {
  let milliseconds = ticks / ticksPerMillisecond;
  if (ticks < 0n && ticks % ticksPerMillisecond !== 0n) milliseconds -= 1n;
  return epochMillisecondsToIso(Number(milliseconds), value.toString());
}

/**
 * The shortest decimal that is the same float32 — what PostgreSQL prints for `real` —
 * instead of the widened double (0.1 rather than 0.10000000149011612).
 */
function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let digits = 1; digits <= 9; digits += 1) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

function parseJsonText(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}
