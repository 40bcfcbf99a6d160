/**
 * Adaptive arithmetic coding of latent codes, one frequency model per level.
 *
 * The coder is the integer arithmetic coder of Witten, Neal and Cleary
 * (Communications of the ACM 30(6), 1987) with 32-bit bounds. Products of a
 * range (≤ 2^32) and a cumulative count (≤ MAX_TOTAL = 2^20) stay below
 * 2^53, so plain JavaScript numbers are exact. Each level's model starts
 * uniform over its K nodes and adds INCREMENT to a node's count each time
 * the node is coded, so the codes cost about the entropy of each level's
 * node frequencies once enough images have passed.
 */
import { DdnError } from '../errors.js';
import { BitReader, BitWriter } from './bits.js';

const TOP = 2 ** 32 - 1;
const HALF = 2 ** 31;
const QUARTER = 2 ** 30;
const THREE_QUARTERS = 3 * QUARTER;

/** Count added to a node each time it is coded. */
const INCREMENT = 32;
/** Counts are halved when their sum would pass this. */
const MAX_TOTAL = 2 ** 20;
/** Largest K this coder accepts, so that every node keeps a count ≥ 1. */
export const MAX_ARITHMETIC_K = 2 ** 16;
/** Bits the decoder may read past the coded bits; more means a short payload. */
const MAX_READ_AHEAD_BITS = 32;

/** Node counts of one level in a Fenwick tree: O(log K) updates and lookups. */
class AdaptiveFrequencies {
  private readonly tree: Float64Array;
  private readonly counts: Float64Array;
  total = 0;

  constructor(readonly k: number) {
    this.tree = new Float64Array(k + 1);
    this.counts = new Float64Array(k).fill(1);
    this.rebuild();
  }

  /** Sum of the counts of nodes 0 … symbol − 1. */
  cumulative(symbol: number): number {
    let sum = 0;
    for (let i = symbol; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  count(symbol: number): number {
    return this.counts[symbol]!;
  }

  /** Finds the node whose interval [cumulative, cumulative + count) contains `target`. */
  find(target: number): number {
    let index = 0;
    let rest = target;
    let step = 1;
    while (step * 2 <= this.k) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = index + step;
      if (next <= this.k && this.tree[next]! <= rest) {
        index = next;
        rest -= this.tree[next]!;
      }
    }
    return index;
  }

  update(symbol: number): void {
    if (this.total + INCREMENT > MAX_TOTAL) {
      for (let i = 0; i < this.k; i++) this.counts[i] = Math.ceil(this.counts[i]! / 2);
      this.rebuild();
    }
    this.counts[symbol]! += INCREMENT;
    this.total += INCREMENT;
    for (let i = symbol + 1; i <= this.k; i += i & -i) this.tree[i]! += INCREMENT;
  }

  private rebuild(): void {
    this.tree.fill(0);
    this.total = 0;
    for (let i = 0; i < this.k; i++) {
      this.total += this.counts[i]!;
      for (let j = i + 1; j <= this.k; j += j & -j) this.tree[j]! += this.counts[i]!;
    }
  }
}

function checkKs(ks: readonly number[]): void {
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 2 || k > MAX_ARITHMETIC_K) {
      throw new DdnError(`arithmetic coding: invalid K ${k}; expected an integer in [2, ${MAX_ARITHMETIC_K}]`);
    }
  }
}

/**
 * Codes latents image by image, level by level. `latents[i][l]` must lie
 * in [0, ks[l]). Returns the coded bytes.
 */
export function arithmeticEncode(latents: readonly ArrayLike<number>[], ks: readonly number[]): Uint8Array {
  checkKs(ks);
  const models = ks.map((k) => new AdaptiveFrequencies(k));
  const writer = new BitWriter();
  let low = 0;
  let high = TOP;
  let pending = 0;

  const emit = (bit: number) => {
    writer.writeBit(bit);
    for (; pending > 0; pending--) writer.writeBit(1 - bit);
  };

  for (const latent of latents) {
    for (let level = 0; level < ks.length; level++) {
      const model = models[level]!;
      const symbol = latent[level]!;
      const cumLow = model.cumulative(symbol);
      const cumHigh = cumLow + model.count(symbol);
      const range = high - low + 1;
      high = low + Math.floor((range * cumHigh) / model.total) - 1;
      low = low + Math.floor((range * cumLow) / model.total);

      // Shift out the bits that low and high now share.
      for (;;) {
        if (high < HALF) {
          emit(0);
        } else if (low >= HALF) {
          emit(1);
          low -= HALF;
          high -= HALF;
        } else if (low >= QUARTER && high < THREE_QUARTERS) {
          pending++;
          low -= QUARTER;
          high -= QUARTER;
        } else {
          break;
        }
        low = 2 * low;
        high = 2 * high + 1;
      }
      model.update(symbol);
    }
  }

  // Two more bits pick a point inside the final interval.
  pending++;
  emit(low < QUARTER ? 0 : 1);
  return writer.finish();
}

/**
 * Decodes `count` latents of `ks.length` levels from `bytes`. Any byte
 * string decodes to in-range codes; a payload too short for `count`
 * latents raises DdnError. `source` names the data in messages.
 */
export function arithmeticDecode(
  bytes: Uint8Array,
  count: number,
  ks: readonly number[],
  source: string,
): Int32Array[] {
  checkKs(ks);
  const models = ks.map((k) => new AdaptiveFrequencies(k));
  const reader = new BitReader(bytes);
  let low = 0;
  let high = TOP;
  let value = reader.readBits(32);
  const latents: Int32Array[] = [];

  for (let image = 0; image < count; image++) {
    const latent = new Int32Array(ks.length);
    for (let level = 0; level < ks.length; level++) {
      const model = models[level]!;
      const range = high - low + 1;
      const target = Math.floor(((value - low + 1) * model.total - 1) / range);
      if (!(target >= 0 && target < model.total)) {
        // Unreachable while low ≤ value ≤ high, which the updates keep.
        throw new DdnError(`${source}: corrupted arithmetic-coded payload`);
      }
      const symbol = model.find(target);
      const cumLow = model.cumulative(symbol);
      const cumHigh = cumLow + model.count(symbol);
      high = low + Math.floor((range * cumHigh) / model.total) - 1;
      low = low + Math.floor((range * cumLow) / model.total);

      for (;;) {
        if (high < HALF) {
          // Nothing to subtract.
        } else if (low >= HALF) {
          low -= HALF;
          high -= HALF;
          value -= HALF;
        } else if (low >= QUARTER && high < THREE_QUARTERS) {
          low -= QUARTER;
          high -= QUARTER;
          value -= QUARTER;
        } else {
          break;
        }
        low = 2 * low;
        high = 2 * high + 1;
        value = 2 * value + reader.readBit();
      }
      model.update(symbol);
      latent[level] = symbol;
    }
    latents.push(latent);
    if (-reader.remaining > MAX_READ_AHEAD_BITS) {
      throw new DdnError(`${source}: payload ends before image ${image + 1} of ${count} (truncated)`);
    }
  }
  return latents;
}
