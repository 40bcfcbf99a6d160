/**
 * Small seeded pseudo-random generator (the Mulberry32 mixing function:
 * 32-bit state, period 2^32). Deterministic for a given seed on every
 * platform, which `Math.random` is not; not for cryptographic use.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Returns a float uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let mixed = this.state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  }

  /** Returns a float uniform in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** Returns an integer uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
