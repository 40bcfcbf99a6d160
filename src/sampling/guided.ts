/**
 * Zero-shot conditional generation (ZSCG): a guided sampler that scores a
 * layer's K candidates with one or more scorers, combines the scores by
 * rank, keeps the best k candidates and draws one of them uniformly.
 *
 * Following Discrete Distribution Networks (Yang, ICLR 2025; the ZSCG
 * section and its appendix on multiple conditions): every scorer ranks the
 * candidates, the ranks are summed with the user's weights, and top-k
 * sampling with k = 2 trades diversity against fidelity. k = 1 is greedy
 * and gives one image per condition. No gradients flow and nothing
 * iterates: one pass through the L layers makes one guided sample.
 */
import type { CandidateSet, LevelContext, RandomSource, Sampler, Selection } from './sampler.js';

/** A judge of one layer's candidates against one condition. */
export interface Scorer {
  /**
   * Scores every candidate at the layer's side `context.size`.
   *
   * @returns `[b·K]` on the host, image-major; higher fits better.
   */
  score(context: LevelContext, candidates: CandidateSet): Float32Array;
  /** Frees the tensors the scorer owns. */
  dispose(): void;
}

/** A scorer with its weight in the rank combination. */
export interface WeightedScorer {
  scorer: Scorer;
  /** Non-negative; a weight of 0 leaves the scorer out entirely. */
  weight: number;
}

export interface GuidedSamplerOptions {
  /** Candidates kept per layer before the uniform draw; 1 is greedy. Default 2. */
  topK?: number;
  /** Draws among the kept candidates; needed unless topK is 1. */
  rng?: RandomSource;
}

export const DEFAULT_TOP_K = 2;

/**
 * Ranks the K candidates of every image by score, best first: rank 0 has
 * the highest score. Equal scores rank by candidate index, so the ranks of
 * one image are always 0 … K−1, each once.
 *
 * @param scores `[b·K]`, higher is better.
 * @returns `[b·K]` ranks.
 */
export function rankScores(scores: Float32Array, batch: number, k: number): Float32Array {
  checkLength('rankScores', scores, batch, k);
  const ranks = new Float32Array(batch * k);
  const order = new Array<number>(k);
  for (let b = 0; b < batch; b++) {
    const offset = b * k;
    for (let j = 0; j < k; j++) order[j] = j;
    // NaN scores rank last: a scorer that cannot judge a candidate must not prefer it.
    const value = (j: number) => {
      const s = scores[offset + j];
      return Number.isNaN(s) ? -Infinity : s;
    };
    order.sort((x, y) => value(y) - value(x) || x - y);
    order.forEach((candidate, rank) => {
      ranks[offset + candidate] = rank;
    });
  }
  return ranks;
}

/**
 * Sums the ranks of several scorers with their weights: Σᵢ wᵢ·rankᵢ per
 * candidate, lower is better. With weights 1 and 0 the result equals the
 * first scorer's ranks.
 *
 * @param ranks one `[b·K]` array per scorer.
 * @returns `[b·K]` combined ranks.
 */
export function combineRanks(ranks: Float32Array[], weights: number[], batch: number, k: number): Float32Array {
  if (ranks.length === 0 || ranks.length !== weights.length) {
    throw new RangeError(`combineRanks: expected one weight per rank array, got ${ranks.length} and ${weights.length}`);
  }
  const combined = new Float32Array(batch * k);
  ranks.forEach((r, i) => {
    checkLength('combineRanks', r, batch, k);
    const w = weights[i];
    if (w === 0) return;
    for (let j = 0; j < combined.length; j++) combined[j] += w * r[j];
  });
  return combined;
}

/**
 * Orders each image's candidates by combined rank, lower first. Ties go to
 * the candidate that `tieBreak` ranks better (the heaviest scorer's ranks),
 * then to the lower index.
 *
 * @returns `[b·K]`: for image b, entries b·K … b·K+K−1 are candidate indices, best first.
 */
export function orderCandidates(
  combined: Float32Array,
  tieBreak: Float32Array,
  batch: number,
  k: number,
): Int32Array {
  const ordered = new Int32Array(batch * k);
  const order = new Array<number>(k);
  for (let b = 0; b < batch; b++) {
    const offset = b * k;
    for (let j = 0; j < k; j++) order[j] = j;
    order.sort(
      (x, y) =>
        combined[offset + x] - combined[offset + y] || tieBreak[offset + x] - tieBreak[offset + y] || x - y,
    );
    ordered.set(order, offset);
  }
  return ordered;
}

/**
 * The guided sampler: combines the ranks of its scorers and draws one of
 * the best `topK` candidates per image. Owns its scorers: call dispose().
 */
export class GuidedSampler implements Sampler {
  private readonly active: WeightedScorer[];
  private readonly topK: number;

  constructor(
    private readonly terms: WeightedScorer[],
    private readonly options: GuidedSamplerOptions = {},
  ) {
    for (const { weight } of terms) {
      if (!(weight >= 0 && Number.isFinite(weight))) {
        throw new RangeError(`GuidedSampler: invalid weight ${weight}: expected a finite number ≥ 0`);
      }
    }
    this.active = terms.filter((t) => t.weight > 0);
    if (this.active.length === 0) {
      throw new RangeError('GuidedSampler: expected at least one scorer with a weight above 0');
    }
    // The heaviest scorer breaks ties; stable sort keeps the first of equals.
    this.active = [...this.active].sort((a, b) => b.weight - a.weight);
    this.topK = options.topK ?? DEFAULT_TOP_K;
    if (!(Number.isInteger(this.topK) && this.topK >= 1)) {
      throw new RangeError(`GuidedSampler: invalid topK ${this.topK}: expected an integer ≥ 1`);
    }
    if (this.topK > 1 && options.rng === undefined) {
      throw new RangeError(`GuidedSampler: topK ${this.topK} draws at random, so it needs an rng`);
    }
  }

  select(context: LevelContext, candidates: CandidateSet): Selection {
    const { batch, k } = context;

    // Rank the candidates under every scorer, then combine the ranks.
    const ranks = this.active.map(({ scorer }) => rankScores(scorer.score(context, candidates), batch, k));
    const combined =
      ranks.length === 1 ? ranks[0] : combineRanks(ranks, this.active.map((t) => t.weight), batch, k);
    const ordered = orderCandidates(combined, ranks[0], batch, k);

    // Top-k sampling: a uniform draw among the best min(topK, K).
    const kept = Math.min(this.topK, k);
    const indices = new Int32Array(batch);
    const runnerUps = new Int32Array(batch);
    for (let b = 0; b < batch; b++) {
      const draw = kept === 1 ? 0 : Math.floor((this.options.rng as RandomSource).next() * kept);
      indices[b] = ordered[b * k + draw];
      runnerUps[b] = ordered[b * k + (k > 1 && draw === 0 ? 1 : 0)];
    }
    return { indices, runnerUps };
  }

  /** Disposes every scorer, including those with weight 0. */
  dispose(): void {
    for (const { scorer } of this.terms) scorer.dispose();
  }
}

function checkLength(where: string, values: Float32Array, batch: number, k: number): void {
  if (values.length !== batch * k) {
    throw new RangeError(`${where}: expected ${batch}·${k} = ${batch * k} values, got ${values.length}`);
  }
}
