import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { SplitPrune, type SplitRule } from './splitPrune.js';

/** Records `wins[i]` wins of node i, one sample at a time. */
function recordWins(splitPrune: SplitPrune, wins: number[]): void {
  const winners: number[] = [];
  wins.forEach((count, node) => {
    for (let i = 0; i < count; i++) {
      winners.push(node);
    }
  });
  splitPrune.record(winners);
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    total += values[i]!;
  }
  return total;
}

describe('SplitPrune', () => {
  it('rejects K < 2', () => {
    expect(() => new SplitPrune(1, { rule: 'tv' })).toThrow(DdnError);
    expect(() => new SplitPrune(0, { rule: 'paper' })).toThrow(DdnError);
    expect(() => new SplitPrune(2.5, { rule: 'paper' })).toThrow(DdnError);
  });

  it('rejects out-of-range winners', () => {
    const splitPrune = new SplitPrune(4, { rule: 'tv' });
    expect(() => splitPrune.record([4])).toThrow(RangeError);
    expect(() => splitPrune.record([0, 1], [1])).toThrow(RangeError);
  });

  it('makes no decision before any record', () => {
    for (const rule of ['tv', 'paper'] as const) {
      const splitPrune = new SplitPrune(8, { rule });
      expect(splitPrune.step()).toBeNull();
      expect(sum(splitPrune.shares())).toBe(0);
    }
  });

  it('makes no decision below minTotal', () => {
    const splitPrune = new SplitPrune(4, { rule: 'paper', minTotal: 10 });
    recordWins(splitPrune, [9, 0, 0, 0]);
    expect(splitPrune.step()).toBeNull();
    splitPrune.record([1]);
    expect(splitPrune.step()).toEqual({ split: 0, prune: 2 });
  });

  it('keeps sum of counts equal to total', () => {
    const settings = fc.record({
      k: fc.integer({ min: 2, max: 40 }),
      rule: fc.constantFrom<SplitRule>('tv', 'paper'),
      runnerUp: fc.boolean(),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(settings, ({ k, rule, runnerUp, seed }) => {
        const splitPrune = new SplitPrune(k, { rule, runnerUp });
        let state = seed >>> 0;
        const next = (): number => {
          state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
          return state / 2 ** 32;
        };
        for (let round = 0; round < 200; round++) {
          const batch = 1 + Math.floor(next() * 8);
          // Skewed winners, so that both rules fire now and then.
          const winners = Array.from({ length: batch }, () =>
            Math.floor(next() ** 2 * k),
          );
          const runnerUps = winners.map((w) => (w + 1) % k);
          splitPrune.record(winners, runnerUps);
          splitPrune.step();
          const counted = sum(splitPrune.counts);
          expect(Math.abs(counted - splitPrune.total)).toBeLessThan(
            1e-9 * Math.max(1, splitPrune.total),
          );
          expect(Math.min(...splitPrune.counts)).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('paper rule fires on max share > 2/K', () => {
    const splitPrune = new SplitPrune(4, { rule: 'paper' });
    recordWins(splitPrune, [3, 3, 12, 2]);
    expect(splitPrune.step()).toEqual({ split: 2, prune: 3 });
  });

  it('paper rule fires on min share < 0.5/K', () => {
    const splitPrune = new SplitPrune(4, { rule: 'paper' });
    recordWins(splitPrune, [10, 10, 10, 1]);
    expect(splitPrune.step()).toEqual({ split: 0, prune: 3 });
  });

  it('tv rule fires where the split lowers total variation', () => {
    // ps = 0.45, pd = 0.15, P = 0.25: after 0.2 < now 0.3; paper rule quiet.
    const tv = new SplitPrune(4, { rule: 'tv' });
    recordWins(tv, [4, 9, 3, 4]);
    expect(tv.step()).toEqual({ split: 1, prune: 2 });

    const paper = new SplitPrune(4, { rule: 'paper' });
    recordWins(paper, [4, 9, 3, 4]);
    expect(paper.step()).toBeNull();
  });

  it('tv rule fires on min share < 0.5/K', () => {
    const splitPrune = new SplitPrune(4, { rule: 'tv' });
    recordWins(splitPrune, [10, 10, 10, 1]);
    expect(splitPrune.step()).toEqual({ split: 0, prune: 3 });
  });

  it('both rules stay quiet on near-uniform counts', () => {
    for (const rule of ['tv', 'paper'] as const) {
      const k = 100;
      const splitPrune = new SplitPrune(k, { rule });
      const wins = Array.from({ length: k }, (_, i) => 100 + (i % 7) - 3);
      recordWins(splitPrune, wins);
      expect(splitPrune.step()).toBeNull();
      expect(splitPrune.splits).toBe(0);
    }
  });

  it('split halves the count and prune leaves the total', () => {
    const splitPrune = new SplitPrune(4, { rule: 'paper' });
    recordWins(splitPrune, [3, 3, 12, 2]);
    const event = splitPrune.step();
    expect(event).toEqual({ split: 2, prune: 3 });
    expect(Array.from(splitPrune.counts)).toEqual([3, 3, 6, 6]);
    expect(splitPrune.total).toBe(18);
    expect(splitPrune.splits).toBe(1);
  });

  it('prunes the farthest of several never-won nodes', () => {
    const splitPrune = new SplitPrune(5, { rule: 'tv' });
    recordWins(splitPrune, [5, 0, 5, 0, 0]);
    splitPrune.recordNodeDistances([1, 2, 1, 7, 3]);
    expect(splitPrune.step()).toEqual({ split: 0, prune: 3 });
    // The clone takes over the distance of the node it copies.
    expect(splitPrune.distances[3]).toBe(1);
  });

  it('prunes the lowest never-won index without distances', () => {
    const splitPrune = new SplitPrune(5, { rule: 'tv' });
    recordWins(splitPrune, [5, 0, 5, 0, 0]);
    expect(splitPrune.step()).toEqual({ split: 0, prune: 1 });
  });

  it('runner-up option hands pruned count to runner-ups', () => {
    const splitPrune = new SplitPrune(4, { rule: 'paper', runnerUp: true });
    splitPrune.record(new Array(20).fill(0), new Array(20).fill(1));
    splitPrune.record(new Array(10).fill(1), new Array(10).fill(0));
    splitPrune.record(new Array(10).fill(2), new Array(10).fill(1));
    // Node 3 wins 4 times: runner-up 1 three times, 2 once.
    splitPrune.record([3, 3, 3, 3], [1, 1, 2, 1]);

    const event = splitPrune.step();
    expect(event).toEqual({ split: 0, prune: 3 });
    expect(Array.from(splitPrune.counts)).toEqual([10, 13, 11, 10]);
    expect(splitPrune.total).toBe(44);
  });

  it('runner-up record treats the clone as runner-up', () => {
    const splitPrune = new SplitPrune(4, { rule: 'paper', runnerUp: true });
    splitPrune.record(
      [0, 0, 0, 0, 0, 0, 1, 1, 2, 2],
      [1, 1, 1, 1, 1, 1, 0, 0, 1, 1],
    );
    // Node 3 never won: prune it, split node 0 into slots 0 and 3.
    expect(splitPrune.step()).toEqual({ split: 0, prune: 3 });
    const matrix = splitPrune.toJSON().runnerUpMatrix!;
    expect(matrix[0 * 4 + 3]).toBe(3);
    expect(matrix[3 * 4 + 0]).toBe(3);
    expect(matrix[0 * 4 + 1]).toBe(0);
  });

  it('runner-up option without a record drops the count', () => {
    const splitPrune = new SplitPrune(4, { rule: 'paper', runnerUp: true });
    recordWins(splitPrune, [3, 3, 12, 2]);
    expect(splitPrune.step()).toEqual({ split: 2, prune: 3 });
    expect(splitPrune.total).toBe(18);
  });

  it('fromJSON(toJSON()) round-trips exactly', () => {
    for (const runnerUp of [false, true]) {
      const splitPrune = new SplitPrune(6, { rule: 'tv', runnerUp });
      for (let round = 0; round < 50; round++) {
        const winners = [round % 3, (round * 5) % 6, 0];
        const runnerUps = winners.map((w) => (w + 2) % 6);
        splitPrune.record(winners, runnerUps, [0.5, 1.25, 2]);
        splitPrune.step();
      }
      expect(splitPrune.splits).toBeGreaterThan(0);

      const state = splitPrune.toJSON();
      const copy = SplitPrune.fromJSON(JSON.parse(JSON.stringify(state)));
      expect(copy.toJSON()).toEqual(state);
      expect(copy.step()).toEqual(splitPrune.step());
    }
  });

  it('fromJSON rejects a state of the wrong size', () => {
    const state = new SplitPrune(4, { rule: 'tv' }).toJSON();
    state.counts = [1, 2];
    expect(() => SplitPrune.fromJSON(state)).toThrow(DdnError);
  });
});
