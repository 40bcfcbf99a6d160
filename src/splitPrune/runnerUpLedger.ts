/**
 * Sparse record of which node came second for each node's wins, used by
 * Split-and-Prune to hand a pruned node's count to its neighbours.
 *
 * A dense K×K matrix would take 800 MB at K = 10,000, so each node keeps a
 * map from runner-up to count. Entries name the runner-up by a node
 * identity rather than by slot: when a slot is pruned and refilled with a
 * clone, it gets a new identity, and entries that pointed at the old
 * occupant become stale and are skipped, because that node no longer
 * exists.
 */
export class RunnerUpLedger {
  readonly k: number;

  /** Identity of the node now in each slot. */
  private readonly identities: Int32Array;

  /** Slot of each live identity. */
  private readonly slotOfIdentity = new Map<number, number>();

  /** Per slot: runner-up identity to number of wins. */
  private readonly rows: Map<number, number>[];

  private nextIdentity: number;

  constructor(k: number) {
    this.k = k;
    this.identities = new Int32Array(k);
    this.rows = [];
    for (let slot = 0; slot < k; slot++) {
      this.identities[slot] = slot;
      this.slotOfIdentity.set(slot, slot);
      this.rows.push(new Map());
    }
    this.nextIdentity = k;
  }

  /** Adds `amount` wins of `winner` for which `runnerUp` came second. */
  add(winner: number, runnerUp: number, amount = 1): void {
    if (winner === runnerUp) {
      return;
    }
    const row = this.rows[winner]!;
    const identity = this.identities[runnerUp]!;
    row.set(identity, (row.get(identity) ?? 0) + amount);
  }

  /**
   * Returns the live runner-ups of `slot` with their shares (summing to 1),
   * or an empty list when no live runner-up was recorded.
   */
  runnerUpShares(slot: number): { slot: number; share: number }[] {
    const live: { slot: number; share: number }[] = [];
    let sum = 0;
    for (const [identity, wins] of this.rows[slot]!) {
      const target = this.slotOfIdentity.get(identity);
      if (target === undefined || target === slot || wins <= 0) {
        continue;
      }
      live.push({ slot: target, share: wins });
      sum += wins;
    }
    for (const entry of live) {
      entry.share /= sum;
    }
    live.sort((a, b) => a.slot - b.slot);
    return live;
  }

  /**
   * Replaces the node in `prune` by a clone of the node in `split`. Each of
   * the two then has the other as runner-up for all its current wins,
   * because they sit at the same point: `countEach` is that count.
   */
  cloneInto(split: number, prune: number, countEach: number): void {
    this.slotOfIdentity.delete(this.identities[prune]!);
    const identity = this.nextIdentity++;
    this.identities[prune] = identity;
    this.slotOfIdentity.set(identity, prune);

    this.rows[split] = new Map();
    this.rows[prune] = new Map();
    if (countEach > 0) {
      this.add(split, prune, countEach);
      this.add(prune, split, countEach);
    }
  }

  /** Returns the K×K matrix over slots, row-major, stale entries left out. */
  toDense(): number[] {
    const k = this.k;
    const dense = new Array<number>(k * k).fill(0);
    for (let winner = 0; winner < k; winner++) {
      for (const [identity, wins] of this.rows[winner]!) {
        const runnerUp = this.slotOfIdentity.get(identity);
        if (runnerUp !== undefined && runnerUp !== winner) {
          dense[winner * k + runnerUp]! += wins;
        }
      }
    }
    return dense;
  }

  /** Builds a ledger from a K×K row-major matrix over slots. */
  static fromDense(k: number, dense: ArrayLike<number>): RunnerUpLedger {
    const ledger = new RunnerUpLedger(k);
    for (let winner = 0; winner < k; winner++) {
      for (let runnerUp = 0; runnerUp < k; runnerUp++) {
        const wins = dense[winner * k + runnerUp]!;
        if (wins !== 0) {
          ledger.add(winner, runnerUp, wins);
        }
      }
    }
    return ledger;
  }
}
