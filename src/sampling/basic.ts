/**
 * The samplers every model needs: argmin L2 to a target (training and
 * reconstruction, with chain dropout in training), uniform random
 * (generation) and given indices (decoding a latent).
 */
import * as tf from '@tensorflow/tfjs-core';

import { resizeArea } from '../model/layers.js';
import type { CandidateSet, LevelContext, RandomSource, Sampler, Selection } from './sampler.js';

/** Picks a uniform random node per image. */
export class RandomSampler implements Sampler {
  constructor(private readonly rng: RandomSource) {}

  select(context: LevelContext): Selection {
    const indices = new Int32Array(context.batch);
    for (let i = 0; i < indices.length; i++) {
      indices[i] = Math.floor(this.rng.next() * context.k);
    }
    return { indices };
  }
}

/** Replays a latent: `latents[i]` contains image i's index at every level. */
export class FixedSampler implements Sampler {
  constructor(private readonly latents: ArrayLike<number>[]) {}

  select(context: LevelContext): Selection {
    const indices = new Int32Array(context.batch);
    for (let i = 0; i < context.batch; i++) {
      const index = this.latents[i][context.level];
      if (!(index >= 0 && index < context.k)) {
        throw new RangeError(`latent index ${index} at level ${context.level} is outside [0, ${context.k})`);
      }
      indices[i] = index;
    }
    return { indices };
  }
}

export interface ArgminOptions {
  /** Probability that a level picks uniformly at random instead (training). */
  chainDropout?: number;
  rng?: RandomSource;
}

/**
 * Picks the candidate closest in mean squared error to the target, resized
 * by area to each level's side. Owns the resized targets: call dispose().
 */
export class ArgminSampler implements Sampler {
  private readonly targets = new Map<number, tf.Tensor4D>();

  /** `target` [b, H, W, c] in the model's range [−1, 1]; the caller keeps it. */
  constructor(
    private readonly target: tf.Tensor4D,
    private readonly options: ArgminOptions = {},
  ) {}

  /** The target at side `size`, [b, size, size, c]; owned by the sampler. */
  targetAt(size: number): tf.Tensor4D {
    if (size === this.target.shape[1]) return this.target;
    let resized = this.targets.get(size);
    if (resized === undefined) {
      resized = tf.tidy(() => resizeArea(this.target, size));
      tf.keep(resized);
      this.targets.set(size, resized);
    }
    return resized;
  }

  select(context: LevelContext, candidates: CandidateSet): Selection {
    const { batch, k } = context;
    const distances = candidates.squaredDistances(this.targetAt(context.size)); // [b·K]
    const indices = new Int32Array(batch);
    const runnerUps = new Int32Array(batch);
    const picked = new Float32Array(batch);
    for (let i = 0; i < batch; i++) {
      let best = 0;
      let second = -1;
      for (let j = 1; j < k; j++) {
        const d = distances[i * k + j];
        if (d < distances[i * k + best]) {
          second = best;
          best = j;
        } else if (second < 0 || d < distances[i * k + second]) {
          second = j;
        }
      }
      indices[i] = best;
      runnerUps[i] = second < 0 ? best : second;
      picked[i] = distances[i * k + best];
    }

    // Chain dropout: the whole level picks at random this time.
    const { chainDropout = 0, rng } = this.options;
    if (chainDropout > 0 && rng !== undefined && rng.next() < chainDropout) {
      for (let i = 0; i < batch; i++) {
        indices[i] = Math.floor(rng.next() * k);
        picked[i] = distances[i * k + indices[i]];
      }
      return { indices, distances: picked, dropped: true };
    }
    return { indices, runnerUps, distances: picked };
  }

  dispose(): void {
    for (const t of this.targets.values()) t.dispose();
    this.targets.clear();
  }
}
