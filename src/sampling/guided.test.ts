import { describe, expect, it } from 'vitest';

import { Rng } from '../data/rng.js';
import { GuidedSampler, type Scorer, combineRanks, orderCandidates, rankScores } from './guided.js';
import type { CandidateSet, LevelContext } from './sampler.js';

/** A scorer that returns fixed scores [b·K] and counts its calls. */
class FixedScorer implements Scorer {
  calls = 0;
  disposed = false;

  constructor(private readonly scores: number[]) {}

  score(): Float32Array {
    this.calls++;
    return Float32Array.from(this.scores);
  }

  dispose(): void {
    this.disposed = true;
  }
}

/** The scorers here never look at the candidates. */
const NO_CANDIDATES: CandidateSet = {
  materialize: () => {
    throw new Error('materialize should not be called');
  },
  squaredDistances: () => {
    throw new Error('squaredDistances should not be called');
  },
};

const context = (batch: number, k: number): LevelContext => ({ level: 0, k, size: 4, batch });

describe('rankScores', () => {
  it('ranks the highest score 0, per image', () => {
    const ranks = rankScores(Float32Array.from([0.1, 0.9, 0.5, 3, 2, 1]), 2, 3);
    expect(Array.from(ranks)).toEqual([2, 0, 1, 0, 1, 2]);
  });

  it('breaks ties by index and ranks NaN last', () => {
    const ranks = rankScores(Float32Array.from([1, 1, NaN, 1]), 1, 4);
    expect(Array.from(ranks)).toEqual([0, 1, 3, 2]);
  });

  it('rejects a wrong length', () => {
    expect(() => rankScores(new Float32Array(5), 2, 3)).toThrow(/expected 2·3 = 6 values, got 5/);
  });
});

describe('combineRanks', () => {
  const a = Float32Array.from([0, 1, 2, 3]);
  const b = Float32Array.from([3, 2, 1, 0]);

  it('with weights 1 and 0 equals the first ranks', () => {
    expect(Array.from(combineRanks([a, b], [1, 0], 1, 4))).toEqual(Array.from(a));
    expect(Array.from(combineRanks([a, b], [0, 1], 1, 4))).toEqual(Array.from(b));
  });

  it('sums weighted ranks', () => {
    expect(Array.from(combineRanks([a, b], [0.5, 0.5], 1, 4))).toEqual([1.5, 1.5, 1.5, 1.5]);
    expect(Array.from(combineRanks([a, b], [2, 1], 1, 4))).toEqual([3, 4, 5, 6]);
  });

  it('rejects a missing weight', () => {
    expect(() => combineRanks([a, b], [1], 1, 4)).toThrow(/one weight per rank array/);
  });
});

describe('orderCandidates', () => {
  it('breaks ties by the tie-break ranks, then by index', () => {
    const combined = Float32Array.from([1, 1, 0, 1]);
    const tieBreak = Float32Array.from([2, 1, 0, 1]);
    expect(Array.from(orderCandidates(combined, tieBreak, 1, 4))).toEqual([2, 1, 3, 0]);
  });
});

describe('GuidedSampler', () => {
  // Image 0 prefers candidate 2, then 0; image 1 prefers 1, then 3.
  const scores = [5, 1, 9, 0, 0, 8, 1, 7];

  it('greedy (topK 1) picks the best-scored candidate', () => {
    const sampler = new GuidedSampler([{ scorer: new FixedScorer(scores), weight: 1 }], { topK: 1 });
    const selection = sampler.select(context(2, 4), NO_CANDIDATES);
    expect(Array.from(selection.indices)).toEqual([2, 1]);
    expect(Array.from(selection.runnerUps ?? [])).toEqual([0, 3]);
  });

  it('topK 2 draws only among the best two, and both occur', () => {
    const sampler = new GuidedSampler([{ scorer: new FixedScorer(scores), weight: 1 }], { topK: 2, rng: new Rng(4) });
    const seen = [new Set<number>(), new Set<number>()];
    for (let i = 0; i < 64; i++) {
      const { indices } = sampler.select(context(2, 4), NO_CANDIDATES);
      seen[0].add(indices[0]);
      seen[1].add(indices[1]);
    }
    expect([...seen[0]].sort()).toEqual([0, 2]);
    expect([...seen[1]].sort()).toEqual([1, 3]);
  });

  it('topK above K draws among all candidates', () => {
    const sampler = new GuidedSampler([{ scorer: new FixedScorer([1, 2]), weight: 1 }], { topK: 5, rng: new Rng(1) });
    const seen = new Set<number>();
    for (let i = 0; i < 32; i++) seen.add(sampler.select(context(1, 2), NO_CANDIDATES).indices[0]);
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it('weights 1 and 0 reduce a combination to one scorer', () => {
    const other = [0, 9, 1, 8, 9, 0, 8, 1];
    const alone = new GuidedSampler([{ scorer: new FixedScorer(scores), weight: 1 }], { rng: new Rng(7) });
    const unused = new FixedScorer(other);
    const paired = new GuidedSampler(
      [
        { scorer: new FixedScorer(scores), weight: 1 },
        { scorer: unused, weight: 0 },
      ],
      { rng: new Rng(7) },
    );
    for (let i = 0; i < 16; i++) {
      const a = alone.select(context(2, 4), NO_CANDIDATES);
      const b = paired.select(context(2, 4), NO_CANDIDATES);
      expect(Array.from(b.indices)).toEqual(Array.from(a.indices));
    }
    // A weight-0 scorer is never evaluated, but still disposed with the sampler.
    expect(unused.calls).toBe(0);
    paired.dispose();
    expect(unused.disposed).toBe(true);
  });

  it('combines two scorers by weighted rank', () => {
    // One image, K = 3. Scorer A ranks [0, 1, 2]; scorer B ranks [2, 1, 0].
    const a = new FixedScorer([3, 2, 1]);
    const b = new FixedScorer([1, 2, 3]);
    const heavyA = new GuidedSampler([{ scorer: a, weight: 2 }, { scorer: b, weight: 1 }], { topK: 1 });
    expect(heavyA.select(context(1, 3), NO_CANDIDATES).indices[0]).toBe(0);
    const heavyB = new GuidedSampler([{ scorer: a, weight: 1 }, { scorer: b, weight: 3 }], { topK: 1 });
    expect(heavyB.select(context(1, 3), NO_CANDIDATES).indices[0]).toBe(2);
    // Equal weights tie every candidate at 2; the first listed scorer breaks the tie.
    const even = new GuidedSampler([{ scorer: a, weight: 1 }, { scorer: b, weight: 1 }], { topK: 1 });
    expect(even.select(context(1, 3), NO_CANDIDATES).indices[0]).toBe(0);
  });

  it('rejects invalid settings', () => {
    const scorer = new FixedScorer([1, 2]);
    expect(() => new GuidedSampler([{ scorer, weight: 0 }], { topK: 1 })).toThrow(/at least one scorer/);
    expect(() => new GuidedSampler([{ scorer, weight: -1 }], { topK: 1 })).toThrow(/invalid weight -1/);
    expect(() => new GuidedSampler([{ scorer, weight: 1 }], { topK: 0 })).toThrow(/invalid topK 0/);
    expect(() => new GuidedSampler([{ scorer, weight: 1 }], { topK: 2 })).toThrow(/needs an rng/);
  });
});
