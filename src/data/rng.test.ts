import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('repeats the sequence for the same seed', () => {
    const first = new Rng(42);
    const second = new Rng(42);
    const a = Array.from({ length: 100 }, () => first.next());
    const b = Array.from({ length: 100 }, () => second.next());
    expect(a).toEqual(b);
    expect(new Rng(43).next()).not.toBe(a[0]);
  });

  it('separates seeds that differ only above 32 bits', () => {
    expect(new Rng(1).next()).not.toBe(new Rng(1 + 2 ** 32).next());
  });

  it('continues the same sequence after a state round trip', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 10; i++) rng.next();
    const state = JSON.parse(JSON.stringify(rng.getState())) as number[];
    const expected = [rng.next(), rng.int(10), rng.normal(), rng.nextUint32()];

    const restored = Rng.fromState(state);
    expect([restored.next(), restored.int(10), restored.normal(), restored.nextUint32()]).toEqual(expected);

    const reset = new Rng(999);
    reset.setState(state);
    expect(reset.next()).toBe(expected[0]);
  });

  it('draws next() in [0, 1) with mean near 1/2', () => {
    const rng = new Rng(1);
    let sum = 0;
    for (let i = 0; i < 100_000; i++) {
      const value = rng.next();
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      sum += value;
    }
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01);
  });

  it('draws int(n) uniformly over [0, n)', () => {
    const rng = new Rng(2);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[rng.int(7)]++;
    for (const count of counts) expect(Math.abs(count - 10_000)).toBeLessThan(500);
    expect(rng.int(1)).toBe(0);
  });

  it('draws normal() with mean 0 and variance 1', () => {
    const rng = new Rng(3);
    const samples = Array.from({ length: 100_000 }, () => rng.normal());
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    expect(samples.every(Number.isFinite)).toBe(true);
  });

  it('rejects invalid seeds, bounds and states', () => {
    expect(() => new Rng(1.5)).toThrow(DdnError);
    expect(() => new Rng(0).int(0)).toThrow(/invalid bound 0/);
    expect(() => new Rng(0).int(2 ** 32 + 1)).toThrow(DdnError);
    expect(() => new Rng(0).setState([1, 2, 3])).toThrow(/expected four integers/);
    expect(() => new Rng(0).setState([1, 2, 3, 2 ** 32])).toThrow(DdnError);
  });
});
