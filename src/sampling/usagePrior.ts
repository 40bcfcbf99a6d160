/**
 * Generation from measured node usage: each level draws its node with the
 * probability that reconstruction of real images picks it (per class for a
 * class-conditional model), instead of uniformly. Nodes the data never
 * picks are never drawn, so a sample does not pass through nodes whose
 * output was never trained for its class.
 */
import type { NodeCounts } from './nodeCounts.js';
import type { LevelContext, RandomSource, Sampler, Selection } from './sampler.js';

/**
 * Node distributions per row and level from usage counts. The probability
 * of node j is proportional to count_j^(1/temperature): temperature 1 follows
 * the measured frequencies, a lower one favors the most used nodes, a higher
 * one flattens toward uniform over the used nodes. A node with count 0 has
 * probability 0 at every temperature.
 */
export class UsagePrior {
  /** Cumulative unnormalized weights, `cumulative[row][level][node]`. */
  private readonly cumulative: Float64Array[][];

  constructor(
    readonly counts: NodeCounts,
    readonly temperature = 1,
  ) {
    if (!(Number.isFinite(temperature) && temperature > 0)) {
      throw new RangeError(`invalid temperature ${temperature}: expected a positive number`);
    }
    this.cumulative = counts.counts.map((levels, row) =>
      levels.map((nodeCounts, level) => {
        const sums = new Float64Array(nodeCounts.length);
        let sum = 0;
        nodeCounts.forEach((count, node) => {
          if (count > 0) sum += count ** (1 / temperature);
          sums[node] = sum;
        });
        if (!(sum > 0)) {
          throw new RangeError(`the prior has no counts in row ${row} at level ${level}`);
        }
        return sums;
      }),
    );
  }

  /** Probability of every node of `level` in `row`, [K]. */
  probabilities(row: number, level: number): Float64Array {
    const sums = this.cumulative[row][level];
    const total = sums[sums.length - 1];
    return sums.map((sum, node) => (sum - (node === 0 ? 0 : sums[node - 1])) / total);
  }

  /** Returns the node of `level` in `row` at quantile `u` in [0, 1), which is a draw when `u` is uniform. */
  draw(row: number, level: number, u: number): number {
    const sums = this.cumulative[row][level];
    const target = u * sums[sums.length - 1];
    // The first node whose cumulative weight exceeds the target. A node with
    // weight 0 has the same cumulative weight as the one before it, so the
    // search can never stop on it.
    let low = 0;
    let high = sums.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (sums[middle] > target) high = middle;
      else low = middle + 1;
    }
    return low;
  }
}

/**
 * Draws each image's node from a usage prior. `rows[i]` is the row (class)
 * of image i. Without `rows`, every image uses row 0.
 */
export class UsagePriorSampler implements Sampler {
  constructor(
    private readonly prior: UsagePrior,
    private readonly rng: RandomSource,
    private readonly rows?: ArrayLike<number>,
  ) {}

  select(context: LevelContext): Selection {
    const { level, k, batch } = context;
    const ks = this.prior.counts.ks;
    if (level >= ks.length || ks[level] !== k) {
      throw new RangeError(`the prior has K ${ks[level]} at level ${level}, but the model has K ${k}`);
    }
    const indices = new Int32Array(batch);
    for (let i = 0; i < batch; i++) {
      const row = this.rows === undefined ? 0 : this.rows[i];
      indices[i] = this.prior.draw(row, level, this.rng.next());
    }
    return { indices };
  }
}
