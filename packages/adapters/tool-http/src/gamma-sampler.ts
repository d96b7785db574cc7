/**
 * Gamma-distributed latencies for the `padded` mode: a tool call takes a random time with a
 * given mean, right-skewed like real API latencies and never negative.
 */
import type { RandomSource } from "@halo/seeded-random";

/**
 * Shape k of the padded-latency Gamma distribution. With k = 4 the standard deviation is half
 * the mean (coefficient of variation 1/√k), the median is 0.92× the mean, the 95th percentile
 * 1.94× the mean, and about 4% of calls take over twice the mean.
 */
export const PADDED_LATENCY_SHAPE = 4;

/** One draw from Gamma(shape, scale) (mean shape × scale, variance shape × scale²). */
export function sampleGamma(shape: number, scale: number, random: RandomSource): number {
  if (!(shape > 0) || !(scale >= 0))
    throw new Error(`Gamma needs shape > 0 and scale >= 0, got ${shape}, ${scale}`);
  if (scale === 0) return 0;
  if (shape < 1) {
    // Gamma(k) = Gamma(k + 1) · U^(1/k) for k < 1 (Marsaglia and Tsang's boost).
    return sampleGamma(shape + 1, scale, random) * uniformOpen(random) ** (1 / shape);
  }
  // Marsaglia and Tsang (2000): a squeeze-and-reject method on a transformed normal.
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = standardNormal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = uniformOpen(random);
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v)))
      return d * v * scale;
  }
}

/** A padded latency with mean `meanMs`: Gamma(PADDED_LATENCY_SHAPE, meanMs / PADDED_LATENCY_SHAPE). */
export function samplePaddedLatencyMs(meanMs: number, random: RandomSource): number {
  return sampleGamma(PADDED_LATENCY_SHAPE, meanMs / PADDED_LATENCY_SHAPE, random);
}

/** A uniform draw in (0, 1): logarithms and roots of it stay finite. */
function uniformOpen(random: RandomSource): number {
  let u = random();
  while (u <= 0) u = random();
  return u;
}

/** A standard normal draw (Box–Muller). */
function standardNormal(random: RandomSource): number {
  return Math.sqrt(-2 * Math.log(uniformOpen(random))) * Math.cos(2 * Math.PI * random());
}
