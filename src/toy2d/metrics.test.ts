import { describe, expect, it } from 'vitest';

import { BUILT_IN_DENSITIES, builtInDensity } from './densities.js';
import { divergences, histogram } from './metrics.js';
import { Rng } from './rng.js';
import { DensitySampler } from './sampler.js';

describe('divergences', () => {
  it('is zero for the ground truth itself', () => {
    const density = builtInDensity('blur-circles', 50);
    const result = divergences(density.mass, density);
    expect(result.kl).toBeCloseTo(0, 12);
    expect(result.js).toBeCloseTo(0, 12);
    expect(result.tv).toBeCloseTo(0, 12);
    expect(result.hellinger).toBeCloseTo(0, 6);
  });

  it('is large for disjoint mass', () => {
    const density = builtInDensity('checkerboard', 8);
    // All points in one dark (empty) square, the top-right corner.
    const p = histogram([0.9], [0.9], 8);
    const result = divergences(p, density);
    expect(result.kl).toBeGreaterThan(40);
    expect(result.js).toBeCloseTo(1, 6);
    expect(result.tv).toBeCloseTo(1, 6);
    expect(result.hellinger).toBeCloseTo(1, 6);
  });
});

describe('DensitySampler', () => {
  for (const name of BUILT_IN_DENSITIES) {
    it(`draws match the ${name} density`, () => {
      const bins = 20;
      const count = 200_000;
      const density = builtInDensity(name, bins);
      const xs = new Float64Array(count);
      const ys = new Float64Array(count);
      new DensitySampler(density).draw(new Rng(7), count, xs, ys);

      // Expected KL of an exact sampler: about (cells − 1) / (2 · count).
      const result = divergences(histogram(xs, ys, bins), density);
      expect(result.kl).toBeLessThan(0.005);
      const inside = (value: number) => value >= -1 && value <= 1;
      expect(xs.every(inside)).toBe(true);
      expect(ys.every(inside)).toBe(true);
    });
  }

  it('repeats draws for the same seed', () => {
    const sampler = new DensitySampler(builtInDensity('spiral', 30));
    const first = [new Float64Array(10), new Float64Array(10)] as const;
    const second = [new Float64Array(10), new Float64Array(10)] as const;
    sampler.draw(new Rng(3), 10, ...first);
    sampler.draw(new Rng(3), 10, ...second);
    expect(Array.from(first[0])).toEqual(Array.from(second[0]));
    expect(Array.from(first[1])).toEqual(Array.from(second[1]));
  });
});
