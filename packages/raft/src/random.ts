// A small seeded PRNG (SplitMix32-style mixing) so elections are reproducible in tests and the
// simulator: the core never calls Math.random itself, it is handed a `() => number` in [0, 1).

export type RandomSource = () => number;

/** A deterministic source of floats in [0, 1) from a 32-bit seed. */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 0x1_0000_0000;
  };
}

/** An integer in [low, high] inclusive. */
export function randomInt(random: RandomSource, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}
