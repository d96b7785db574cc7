export {
  Mulberry32,
  mulberry32,
  Sfc32,
  sfc32,
  Xoshiro128StarStar,
  xoshiro128ss,
} from "./generators.js";
export { type RandomSource, SeededRandom } from "./seeded-random.js";
export { cyrb128, fnv1a32, type State128, seedFromParts, sha256State, splitmix32 } from "./seeding.js";
