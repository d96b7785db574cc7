/**
 * PostgreSQL text-format values → the JSON shape of `result-values.ts`, installed as the
 * pool's own type parsers (never `pg`'s global ones, which other code in the process may use).
 */
import type { JsonValue } from "@halo/ir";
import postgresArray from "postgres-array";
import { decimalTextToJson, epochMillisecondsToIso, floatToJson, integerToJson } from "./result-values.js";

type TextParser = (text: string) => JsonValue;

const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/;

const parseBoolean: TextParser = (text) => text === "t" || text === "true";
const parseInteger: TextParser = (text) => integerToJson(BigInt(text));
const parseFloatingPoint: TextParser = (text) => floatToJson(Number(text));
const parseText: TextParser = (text) => text;

/** `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]]` (DateStyle ISO) → ISO text; BC, infinity, … stay as text. */
const parseTimestamp: TextParser = (text) => {
  const match = TIMESTAMP_TEXT.exec(text);
  if (match === null) return text;
  const [
    ,
    year,
    month,
    day,
    hour,
    minute,
    second,
    fraction = "",
    sign,
    offsetHours,
    offsetMinutes,
    offsetSeconds,
  ] = match;
  // Milliseconds from the digits themselves: 0.57 * 1000 is 569.999… in floating point.
  const milliseconds = Number(`${fraction.slice(1)}000`.slice(0, 3));
  let epochMs = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
  );
  // Date.UTC maps years 0–99 onto 1900–1999; set the year again to keep it.
  if (Number(year) < 100) {
    const date = new Date(epochMs);
    date.setUTCFullYear(Number(year));
    epochMs = date.getTime();
  }
  epochMs += milliseconds;
  if (sign !== undefined) {
    const offsetMs =
      (Number(offsetHours) * 3600 + Number(offsetMinutes ?? 0) * 60 + Number(offsetSeconds ?? 0)) * 1000;
    epochMs += sign === "+" ? -offsetMs : offsetMs;
  }
  return epochMillisecondsToIso(epochMs, text);
};

const parseJson: TextParser = (text) => JSON.parse(text) as JsonValue;

/** Scalar parsers by type OID (pg_type.oid); types not listed stay PostgreSQL's text. */
const SCALAR_PARSERS: Readonly<Record<number, TextParser>> = {
  16: parseBoolean, // bool
  20: parseInteger, // int8
  21: parseInteger, // int2
  23: parseInteger, // int4
  26: parseInteger, // oid
  700: parseFloatingPoint, // float4
  701: parseFloatingPoint, // float8
  1700: decimalTextToJson, // numeric
  1082: parseText, // date: already YYYY-MM-DD under DateStyle ISO
  1114: parseTimestamp, // timestamp
  1184: parseTimestamp, // timestamptz
  114: parseJson, // json
  3802: parseJson, // jsonb
};

/** Array type OID → element type OID, for the arrays whose elements are not text. */
const ARRAY_ELEMENT_TYPES: Readonly<Record<number, number>> = {
  1000: 16,
  1016: 20,
  1005: 21,
  1007: 23,
  1028: 26,
  1021: 700,
  1022: 701,
  1231: 1700,
  1182: 1082,
  1115: 1114,
  1185: 1184,
  199: 114,
  3807: 3802,
};

/** Other array types whose elements stay text (text[], varchar[], uuid[], bytea[], …). */
const TEXT_ARRAY_TYPES = new Set([1009, 1015, 1014, 2951, 1001, 1183, 1270, 1187, 1040, 1041, 651]);

/** The parser of a type OID's text form, for `pg`'s `types.getTypeParser`. */
export function postgresTextParser(oid: number): TextParser {
  const scalar = SCALAR_PARSERS[oid];
  if (scalar !== undefined) return scalar;
  const elementOid = ARRAY_ELEMENT_TYPES[oid];
  if (elementOid !== undefined) {
    const element = SCALAR_PARSERS[elementOid]!;
    return (text) => postgresArray.parse(text, element) as JsonValue;
  }
  if (TEXT_ARRAY_TYPES.has(oid)) return (text) => postgresArray.parse(text) as JsonValue;
  return parseText;
}
