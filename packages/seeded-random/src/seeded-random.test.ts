import { describe, expect, it } from "vitest";
import {
  cyrb128,
  fnv1a32,
  Mulberry32,
  mulberry32,
  SeededRandom,
  Sfc32,
  seedFromParts,
  sfc32,
  sha256State,
  splitmix32,
  Xoshiro128StarStar,
  xoshiro128ss,
} from "./index.js";

// The first outputs of the hand-written generators this package replaced, recorded from them
// before they were deleted: mulberry32 (engine-sim's seededRandom and the optimizer's synthetic
// problems, identical), sfc32 seeded from a string (tool-http's createSeededRandom), sfc32 seeded
// from parts (the benchmarks' dataset SeededRandom) and xoshiro128** seeded from a label's SHA-256
// (engine-llamacpp's model synthesizer). Equal values mean bit-identical streams, so datasets,
// simulated answers, padded latencies and synthesized models stay the same.
const RECORDED = {
  mulberry32: {
    "0": [
      0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111, 0.46732782293111086,
      0.5450490827206522, 0.6152513844426721, 0.6489853798411787,
    ],
    "1": [
      0.6270739405881613, 0.002735721180215478, 0.5274470399599522, 0.9810509674716741, 0.9683778982143849,
      0.281103502959013, 0.6128388606011868, 0.7207431411370635,
    ],
    "42": [
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693, 0.17481389874592423,
      0.5265925421845168, 0.2732279943302274, 0.6247446539346129,
    ],
    "3735928559": [
      0.9413696140982211, 0.26719574979506433, 0.772033357527107, 0.35816076025366783, 0.47554167779162526,
      0.8382313968613744, 0.11277393717318773, 0.3172087538987398,
    ],
  },
  mulberry32After1000: [0.5559569308534265, 0.4839879455976188, 0.525013072649017, 0.6484228363260627],
  seedFrom: [2904383542, 1120186595, 70053361],
  sfc32String: {
    "": [
      0.18176812469027936, 0.3188686918001622, 0.9710811858531088, 0.5636194369290024, 0.7719245995394886,
      0.007362341741099954, 0.9535018897149712, 0.9732470733579248,
    ],
    "halo-http": [
      0.09280061954632401, 0.99429907114245, 0.9176883019972593, 0.5915150046348572, 0.9561738364864141,
      0.25134269800037146, 0.4059909980278462, 0.6078407089225948,
    ],
    "query-7": [
      0.04104223265312612, 0.6869966343510896, 0.545441530412063, 0.27617918723262846, 0.7770400219596922,
      0.2500678177457303, 0.5702677473891526, 0.64557099272497,
    ],
  },
  sfc32Parts: {
    '["tpch",1,"orders"]': [
      4173421012, 1657335969, 3416425163, 2084115513, 3418506824, 3951670217, 4188565791, 1004996465,
    ],
    '["imdb",2,"titles"]': [
      1953905410, 3979686314, 78887521, 872759580, 3306084015, 2987327939, 317133911, 3826495518,
    ],
    '["x"]': [1033470986, 4047942549, 2194876988, 3245604917, 2413992733, 3639247354, 1032107884, 3536019816],
  },
  sfc32PartsHelpers: {
    integer: [3, 67, 94, 44, 84],
    chance: [false, false, false, true, false],
    pick: ["c", "c", "a", "a", "a"],
    sample: [7, 5, 9, 6],
    normal: [10.405107439399401, 9.166946606686448, 10.245564635239896],
    next: [0.7108803645242006, 0.6513536546844989, 0.5257854959927499],
  },
  xoshiro: {
    x: [2070353667, 2914394479, 3394129898, 3277379417, 2682778144, 2782530477, 3424661900, 1040710941],
    "model\u0000blk.0.attn_q.weight": [
      96986866, 872745841, 127741389, 3309672367, 2159215345, 3622830729, 756993768, 1788554723,
    ],
  },
  xoshiroBytes: [0, 127, 248, 121, 26, 94, 92, 173, 147, 34, 0],
} as const;

const take = (next: () => number, count = 8) => Array.from({ length: count }, next);

describe("mulberry32", () => {
  it.each(Object.entries(RECORDED.mulberry32))("seed %s gives the recorded floats", (seed, expected) => {
    expect(take(mulberry32(Number(seed)))).toEqual(expected);
    const words = new Mulberry32(Number(seed));
    expect(take(() => words.nextUint32()).map((word) => word / 4294967296)).toEqual(expected);
  });

  it("stays on the recorded stream after 1000 draws", () => {
    const random = mulberry32(7);
    for (let index = 0; index < 1000; index++) random();
    expect(take(random, 4)).toEqual(RECORDED.mulberry32After1000);
  });
});

describe("sfc32", () => {
  it.each(Object.entries(RECORDED.sfc32String))(
    "string seed %j gives the recorded floats",
    (seed, expected) => {
      expect(take(sfc32(seed))).toEqual(expected);
    },
  );

  it.each(Object.entries(RECORDED.sfc32Parts))("parts %s give the recorded words", (parts, expected) => {
    const random = Sfc32.fromParts(...(JSON.parse(parts) as (string | number)[]));
    expect(take(() => random.nextUint32())).toEqual(expected);
  });

  it("draws integers, chances, picks, samples and normals as the datasets did", () => {
    const random = Sfc32.fromParts("helpers", 3);
    const expected = RECORDED.sfc32PartsHelpers;
    expect(take(() => random.integer(1, 100), 5)).toEqual(expected.integer);
    expect(take(() => (random.chance(0.3) ? 1 : 0), 5)).toEqual(expected.chance.map(Number));
    expect(take(() => ["a", "b", "c"].indexOf(random.pick(["a", "b", "c"])), 5)).toEqual(
      expected.pick.map((item) => ["a", "b", "c"].indexOf(item)),
    );
    expect(random.sample([1, 2, 3, 4, 5, 6, 7, 8, 9], 4)).toEqual(expected.sample);
    expect(take(() => random.normal(10, 2, 0, 20), 3)).toEqual(expected.normal);
    expect(take(() => random.next(), 3)).toEqual(expected.next);
  });
});

describe("xoshiro128**", () => {
  it.each(Object.entries(RECORDED.xoshiro))("label %j gives the recorded words", (label, expected) => {
    const random = new Xoshiro128StarStar(label);
    expect(take(() => random.nextUint32())).toEqual(expected);
    expect(take(xoshiro128ss(label))).toEqual(expected.map((word) => word / 4294967296));
  });

  it("fills a byte range from successive words, little-endian, including a partial last word", () => {
    const bytes = new Uint8Array(11);
    new Xoshiro128StarStar("bytes").fillBytes(bytes, 1, 9);
    expect(Array.from(bytes)).toEqual(RECORDED.xoshiroBytes);
    expect(bytes[0]).toBe(0);
    expect(bytes[10]).toBe(0);
  });

  it("seeds from state words and never from the all-zero state", () => {
    const zero = new Xoshiro128StarStar([0, 0, 0, 0]);
    expect(zero.nextUint32()).toBe(new Xoshiro128StarStar([1, 0, 0, 0]).nextUint32());
    const [a, b, c, d] = sha256State("x");
    expect(take(() => new Xoshiro128StarStar([a, b, c, d]).nextUint32(), 1)).toEqual([RECORDED.xoshiro.x[0]]);
  });
});

describe("seeding helpers", () => {
  it("derive the recorded seeds from parts, typed", () => {
    expect([seedFromParts("model", "abc", 12), seedFromParts(), seedFromParts(1, "1")]).toEqual(
      RECORDED.seedFrom,
    );
    expect(seedFromParts(1)).not.toBe(seedFromParts("1"));
  });

  it("hash strings to unsigned 32-bit words", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    for (const word of [...cyrb128("halo"), ...splitmix32(1, 4), ...sha256State("halo")]) {
      expect(Number.isInteger(word) && word >= 0 && word < 2 ** 32).toBe(true);
    }
    expect(splitmix32(5, 3)).toEqual(splitmix32(5, 3));
    expect(new Set(splitmix32(5, 3)).size).toBe(3);
  });
});

describe("SeededRandom", () => {
  class Counter extends SeededRandom {
    private value = 0;
    nextUint32(): number {
      this.value = (this.value + 0x40000000) >>> 0;
      return this.value;
    }
  }

  it("builds floats, integers and sources from the words of any generator", () => {
    const counter = new Counter();
    expect(take(counter.source(), 4)).toEqual([0.25, 0.5, 0.75, 0]);
    expect(counter.integer(0, 3)).toBe(1);
  });

  it("spreads integers over both ends and floats over [0, 1)", () => {
    const random = Sfc32.fromParts("bounds");
    const seen = new Set<number>();
    for (let index = 0; index < 2000; index++) seen.add(random.integer(3, 7));
    expect([...seen].sort()).toEqual([3, 4, 5, 6, 7]);
    const values = take(() => random.next(), 10_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
  });

  it("rejects a pick from an empty list and caps a sample at the list", () => {
    expect(() => new Mulberry32(1).pick([])).toThrow(/non-empty/);
    expect(new Mulberry32(1).sample([1, 2], 5).sort()).toEqual([1, 2]);
  });
});
