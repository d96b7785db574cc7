import { Sfc32 } from "@halo/seeded-random";
import { buildQueryRecords, type QueryRecord } from "./query-record.js";
import { TPCH_REGIONS, TPCH_SEGMENTS, TPCH_SHIP_MODES, TPCH_TYPE_SYLLABLES } from "./tpch-domains.js";

// "REG AIR" holds a space, which a key=value string cannot carry unambiguously; the other six modes can.
const SINGLE_WORD_SHIP_MODES = TPCH_SHIP_MODES.filter((mode) => !mode.includes(" "));

/**
 * TPC-H parameter strings such as `region=ASIA segment=BUILDING year=1994
 * shipmode=MAIL shipmode2=SHIP date=1995-03-15 brand=Brand#13 size=15
 * type=BRASS discount=0.06 qty=24`, with values drawn from the ranges the
 * specification's query substitution uses (clause 2.4); some fields are left
 * out so the workload's defaults apply, and some queries repeat.
 */
export function generateTpchQueries(count: number, seed: number): QueryRecord[] {
  const random = Sfc32.fromParts("tpch-queries", seed);
  return buildQueryRecords("tpch", count, random, () => {
    const [shipmode, shipmode2] = random.sample(SINGLE_WORD_SHIP_MODES, 2);
    const fields: [string, string][] = [
      ["region", random.pick(TPCH_REGIONS)],
      ["segment", random.pick(TPCH_SEGMENTS)],
      ["year", String(random.integer(1993, 1997))],
      ["shipmode", shipmode ?? "MAIL"],
      ["shipmode2", shipmode2 ?? "SHIP"],
      ["date", `1995-03-${String(random.integer(1, 31)).padStart(2, "0")}`],
      ["brand", `Brand#${random.integer(1, 5)}${random.integer(1, 5)}`],
      ["size", String(random.integer(1, 50))],
      ["type", random.pick(TPCH_TYPE_SYLLABLES[2])],
      ["discount", (random.integer(2, 9) / 100).toFixed(2)],
      ["qty", String(random.integer(24, 25))],
    ];
    // The year is always present; each other field is left out now and then.
    return fields
      .filter(([name]) => name === "year" || !random.chance(0.15))
      .map(([name, value]) => `${name}=${value}`)
      .join(" ");
  });
}
