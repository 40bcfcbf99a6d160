import { DdnError } from '../errors.js';

/** A source of uniform random numbers in [0, 1). */
export interface RandomSource {
  next(): number;
}

const TWO_TO_32 = 2 ** 32;
// Discarded outputs after seeding, so that similar seeds diverge.
const WARM_UP_ROUNDS = 12;

/**
 * A small seedable pseudo-random generator: sfc32 (Chris Doty-Humphrey's
 * "small fast counting" generator, 128 bits of state) seeded through
 * splitmix32. The same seed always gives the same sequence, and the state is
 * four plain numbers that can be stored in a checkpoint and restored.
 * Not for cryptography.
 */
export class Rng implements RandomSource {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  /** Seeds the generator from any safe integer (default 0). */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed)) {
      throw new DdnError(`Rng: invalid seed ${seed}; expected a safe integer`);
    }
    // Feed both 32-bit halves of the seed through splitmix32.
    let mix = (seed >>> 0) ^ Math.imul(Math.floor(seed / TWO_TO_32) >>> 0, 0x85ebca6b);
    const nextMix = () => {
      mix = (mix + 0x9e3779b9) | 0;
      let z = mix;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.a = nextMix();
    this.b = nextMix();
    this.c = nextMix();
    this.d = nextMix();
    for (let round = 0; round < WARM_UP_ROUNDS; round++) this.nextUint32();
  }

  /** Creates a generator that continues from a state saved with getState. */
  static fromState(state: readonly number[]): Rng {
    const rng = new Rng();
    rng.setState(state);
    return rng;
  }

  /** Returns a uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Returns a uniform float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / TWO_TO_32;
  }

  /**
   * Returns a uniform integer in [0, n) without modulo bias, for integer n
   * in [1, 2^32].
   */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1 || n > TWO_TO_32) {
      throw new DdnError(`Rng.int: invalid bound ${n}; expected an integer in [1, 2^32]`);
    }
    // Reject the top values that would make some results more likely.
    const limit = TWO_TO_32 - (TWO_TO_32 % n);
    for (;;) {
      const value = this.nextUint32();
      if (value < limit) return value % n;
    }
  }

  /**
   * Returns a standard normal sample (mean 0, variance 1) by the
   * Box-Muller transform. It draws two uniforms per call and keeps no spare
   * value, so the state stays four numbers.
   */
  normal(): number {
    const radius = Math.sqrt(-2 * Math.log(1 - this.next()));
    return radius * Math.cos(2 * Math.PI * this.next());
  }

  /** Returns the state as four unsigned 32-bit integers. */
  getState(): number[] {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  /** Restores a state returned by getState. */
  setState(state: readonly number[]): void {
    const valid =
      Array.isArray(state) &&
      state.length === 4 &&
      state.every((word) => Number.isInteger(word) && word >= 0 && word < TWO_TO_32);
    if (!valid) {
      throw new DdnError(
        `Rng.setState: invalid state ${JSON.stringify(state)}; expected four ` +
          'integers in [0, 2^32)',
      );
    }
    [this.a, this.b, this.c, this.d] = state.map((word) => word | 0) as [
      number,
      number,
      number,
      number,
    ];
  }
}
