import { describe, expect, it } from 'vitest';

import { normalise, type Density2d } from './densities.js';
import { Rng } from './rng.js';
import { trainNodes, type SplitPruneMode } from './trainer.js';

/** Two round bumps at x = −0.5 and x = +0.5 holding 80 % and 20 % of the mass. */
function twoBumps(bins: number): Density2d {
  const values = new Float64Array(bins * bins);
  const sigma = 0.12;
  for (let row = 0; row < bins; row++) {
    for (let col = 0; col < bins; col++) {
      const x = -1 + (2 * (col + 0.5)) / bins;
      const y = 1 - (2 * (row + 0.5)) / bins;
      const bump = (cx: number) =>
        Math.exp(-((x - cx) ** 2 + y ** 2) / (2 * sigma * sigma));
      values[row * bins + col] = 0.8 * bump(-0.5) + 0.2 * bump(0.5);
    }
  }
  return { name: 'two-bumps', bins, mass: normalise(values) };
}

/** Share of nodes in the left half, where the heavy bump is. */
function leftShare(mode: SplitPruneMode): number {
  const k = 200;
  const result = trainNodes(
    twoBumps(40),
    { k, iters: 20_000, batch: 10, splitPrune: mode },
    new Rng(11),
  );
  return result.xs.filter((x) => x < 0).length / k;
}

describe('trainNodes', () => {
  it('matches bump masses with tv rule', () => {
    expect(Math.abs(leftShare('tv') - 0.8)).toBeLessThan(0.05);
  });

  it('matches bump masses with paper rule', () => {
    expect(Math.abs(leftShare('paper') - 0.8)).toBeLessThan(0.05);
  });

  it('misses bump masses without Split-and-Prune', () => {
    expect(Math.abs(leftShare('off') - 0.8)).toBeGreaterThan(0.15);
  });

  it('repeats a run for the same seed', () => {
    const options = { k: 50, iters: 500, batch: 4, splitPrune: 'tv' as const };
    const first = trainNodes(twoBumps(20), options, new Rng(5));
    const second = trainNodes(twoBumps(20), options, new Rng(5));
    expect(Array.from(first.xs)).toEqual(Array.from(second.xs));
    expect(first.splits).toBe(second.splits);
  });

  it('runs with runner-up redistribution', () => {
    const result = trainNodes(
      twoBumps(20),
      { k: 50, iters: 2000, batch: 4, splitPrune: 'tv', runnerUp: true },
      new Rng(5),
    );
    expect(result.splits).toBeGreaterThan(0);
  });
});
