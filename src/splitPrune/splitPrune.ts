/**
 * Split-and-Prune bookkeeping, Algorithm 1 of "Discrete Distribution
 * Networks" (Yang, ICLR 2025). It keeps host-side win counters for the K
 * output nodes of one discrete distribution layer, and decides when the
 * most won node is cloned into the slot of the least won one.
 *
 * Glossary: K is `k`, c(k) is `counts`, n is `total`. This module holds no
 * tensors. The caller copies the parameters (and optimizer moments) of the
 * `split` node into the `prune` slot when `step()` returns an event.
 */
import { DdnError } from '../errors.js';
import { RunnerUpLedger } from './runnerUpLedger.js';

/**
 * 'paper': Algorithm 1, split when max share > 2/K or min share < 0.5/K.
 * 'tv': the authors' refined rule, split when the split lowers an estimate
 * of the total variation between node shares and the uniform 1/K, or when
 * the least won share is below 0.5/K.
 */
export type SplitRule = 'tv' | 'paper';

export interface SplitPruneOptions {
  rule: SplitRule;
  /**
   * Keep a runner-up record and hand a pruned node's count to the nodes
   * that came second on its wins, instead of dropping it. Default false.
   */
  runnerUp?: boolean;
  /**
   * No decision while `total` is below this many records. Default 0, as in
   * Algorithm 1, which checks after every sample from the first one on.
   * Early decisions are cheap to live with: while most nodes have never
   * won, each split moves a never-won node onto a node that data reaches.
   */
  minTotal?: number;
}

/** One split: the node in `split` is cloned into the slot `prune`. */
export interface SplitEvent {
  split: number;
  prune: number;
}

/** Plain-JSON form of a `SplitPrune`. */
export interface SplitPruneState {
  k: number;
  rule: SplitRule;
  runnerUp: boolean;
  counts: number[];
  total: number;
  distances: number[];
  /** K×K, row-major: entry (i, j) counts wins of i where j came second. */
  runnerUpMatrix?: number[];
  splits: number;
  minTotal?: number;
}

export class SplitPrune {
  readonly k: number;
  readonly rule: SplitRule;
  readonly runnerUp: boolean;
  readonly minTotal: number;

  /** Wins per node; halves of a split node may be fractional. */
  readonly counts: Float64Array;

  /** n: the sum of `counts`, kept up to floating-point rounding. */
  total = 0;

  /** Number of split events so far. */
  splits = 0;

  /**
   * Accumulated distance per node. Used only to choose among several
   * never-won nodes: the farthest one is pruned first.
   */
  readonly distances: Float64Array;

  private ledger: RunnerUpLedger | undefined;

  constructor(k: number, options: SplitPruneOptions) {
    if (!Number.isInteger(k) || k < 2) {
      throw new DdnError(
        `Split-and-Prune needs an integer K of at least 2 nodes, got ${k}.`,
      );
    }
    if (options.rule !== 'tv' && options.rule !== 'paper') {
      throw new DdnError(
        `Unknown split rule '${String(options.rule)}', expected 'tv' or 'paper'.`,
      );
    }
    const minTotal = options.minTotal ?? 0;
    if (!(minTotal >= 0)) {
      throw new DdnError(
        `Split-and-Prune minTotal must be 0 or more, got ${minTotal}.`,
      );
    }

    this.k = k;
    this.rule = options.rule;
    this.runnerUp = options.runnerUp ?? false;
    this.minTotal = minTotal;
    this.counts = new Float64Array(k);
    this.distances = new Float64Array(k);
    this.ledger = this.runnerUp ? new RunnerUpLedger(k) : undefined;
  }

  /**
   * Records one step's winners ([n] node indices), optional runner-up
   * indices ([n], used only with the runner-up option) and optional
   * winning distances ([n], added to each winner's accumulated distance).
   */
  record(
    winners: ArrayLike<number>,
    runnerUps?: ArrayLike<number>,
    distances?: ArrayLike<number>,
  ): void {
    const n = winners.length;
    this.checkLength('runnerUps', runnerUps, n);
    this.checkLength('distances', distances, n);

    for (let i = 0; i < n; i++) {
      const winner = this.checkIndex('winner', winners[i]!);
      this.counts[winner]! += 1;
      if (distances !== undefined) {
        this.distances[winner]! += distances[i]!;
      }
      if (this.ledger !== undefined && runnerUps !== undefined) {
        const runnerUp = this.checkIndex('runner-up', runnerUps[i]!);
        this.ledger.add(winner, runnerUp);
      }
    }
    this.total += n;
  }

  /**
   * Adds a distance per node ([K]), e.g. the batch sum of each node's
   * distance to every sample, as the authors accumulate it. With it, the
   * never-won node farthest from the data is pruned first. Without any
   * distances, never-won nodes tie and the lowest index is pruned.
   */
  recordNodeDistances(perNode: ArrayLike<number>): void {
    this.checkLength('perNode', perNode, this.k);
    for (let node = 0; node < this.k; node++) {
      this.distances[node]! += perNode[node]!;
    }
  }

  /**
   * Applies the rule once and, when it fires, updates the counts for one
   * split. Returns the event, or null when the counts are balanced enough
   * or fewer than `minTotal` records were seen.
   */
  step(): SplitEvent | null {
    if (this.total <= 0 || this.total < this.minTotal) {
      return null;
    }

    // Most and least won nodes; ties go to the lowest index, except that
    // among never-won nodes the one with the largest distance goes first.
    const { split, prune } = this.pickNodes();
    if (split === prune) {
      return null;
    }

    // Decide with shares of the current total.
    const splitShare = this.counts[split]! / this.total;
    const pruneShare = this.counts[prune]! / this.total;
    if (!this.ruleFires(splitShare, pruneShare)) {
      return null;
    }

    // Prune: drop the count, or hand it to the recorded runner-ups.
    this.releaseCount(prune);

    // Split: the clone and the original share the old count.
    const half = this.counts[split]! / 2;
    this.counts[split] = half;
    this.counts[prune] = half;
    this.distances[prune] = this.distances[split]!;
    this.ledger?.cloneInto(split, prune, half);
    this.splits += 1;
    return { split, prune };
  }

  /** Share of each node: counts / total (zeros before any record). */
  shares(): Float64Array {
    const shares = new Float64Array(this.k);
    if (this.total > 0) {
      for (let node = 0; node < this.k; node++) {
        shares[node] = this.counts[node]! / this.total;
      }
    }
    return shares;
  }

  toJSON(): SplitPruneState {
    const state: SplitPruneState = {
      k: this.k,
      rule: this.rule,
      runnerUp: this.runnerUp,
      counts: Array.from(this.counts),
      total: this.total,
      distances: Array.from(this.distances),
      splits: this.splits,
      minTotal: this.minTotal,
    };
    if (this.ledger !== undefined) {
      // NOTE: dense K×K, about 20 MB of JSON at K = 1024 and too large
      // to write at K = 10,000.
      state.runnerUpMatrix = this.ledger.toDense();
    }
    return state;
  }

  /** Rebuilds the bookkeeping from `toJSON()` output; checks every field. */
  static fromJSON(state: SplitPruneState): SplitPrune {
    const splitPrune = new SplitPrune(state.k, {
      rule: state.rule,
      runnerUp: state.runnerUp,
      minTotal: state.minTotal ?? 0,
    });
    const k = splitPrune.k;
    checkStateArray('counts', state.counts, k);
    checkStateArray('distances', state.distances, k);
    if (!Number.isFinite(state.total) || !Number.isFinite(state.splits)) {
      throw new DdnError(
        `Invalid Split-and-Prune state: total ${state.total} and splits ` +
          `${state.splits} must be finite numbers.`,
      );
    }

    splitPrune.counts.set(state.counts);
    splitPrune.distances.set(state.distances);
    splitPrune.total = state.total;
    splitPrune.splits = state.splits;
    if (state.runnerUp) {
      const matrix = state.runnerUpMatrix ?? [];
      checkStateArray('runnerUpMatrix', matrix, k * k);
      splitPrune.ledger = RunnerUpLedger.fromDense(k, matrix);
    }
    return splitPrune;
  }

  private pickNodes(): SplitEvent {
    const counts = this.counts;
    let split = 0;
    let prune = 0;
    for (let node = 1; node < this.k; node++) {
      const count = counts[node]!;
      if (count > counts[split]!) {
        split = node;
      }
      const least = counts[prune]!;
      const fartherNeverWon =
        count === 0 &&
        least === 0 &&
        this.distances[node]! > this.distances[prune]!;
      if (count < least || fartherNeverWon) {
        prune = node;
      }
    }
    return { split, prune };
  }

  private ruleFires(splitShare: number, pruneShare: number): boolean {
    const uniform = 1 / this.k;
    if (this.rule === 'paper') {
      return splitShare > 2 * uniform || pruneShare < 0.5 * uniform;
    }

    // Total variation near the two nodes: now |ps − P| + |P − pd|, which
    // for ps ≥ P ≥ pd is ps − pd. After the split the two halves give
    // 2·|ps/2 − P|, and the pruned slot's mass pd is lost to the output.
    const tvNow = splitShare - pruneShare;
    const tvAfterSplit = 2 * Math.abs(splitShare / 2 - uniform) + pruneShare;
    return tvAfterSplit < tvNow || pruneShare < uniform / 2;
  }

  private releaseCount(prune: number): void {
    const released = this.counts[prune]!;
    this.counts[prune] = 0;
    if (released === 0) {
      return;
    }

    const shares = this.ledger?.runnerUpShares(prune) ?? [];
    if (shares.length === 0) {
      // Algorithm 1: the pruned count leaves the total.
      this.total -= released;
      return;
    }
    for (const { slot, share } of shares) {
      this.counts[slot]! += released * share;
    }
  }

  private checkLength(
    name: string,
    values: ArrayLike<number> | undefined,
    expected: number,
  ): void {
    if (values !== undefined && values.length !== expected) {
      throw new RangeError(
        `SplitPrune: ${name} has length ${values.length}, expected ${expected}.`,
      );
    }
  }

  private checkIndex(name: string, index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.k) {
      throw new RangeError(
        `SplitPrune: ${name} index ${index} is outside [0, ${this.k}).`,
      );
    }
    return index;
  }
}

function checkStateArray(
  name: string,
  values: unknown,
  expected: number,
): asserts values is number[] {
  const valid =
    Array.isArray(values) &&
    values.length === expected &&
    values.every((value) => Number.isFinite(value));
  if (!valid) {
    throw new DdnError(
      `Invalid Split-and-Prune state: ${name} must be ${expected} finite ` +
        'numbers.',
    );
  }
}
