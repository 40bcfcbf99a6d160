/**
 * Latents as paths through the tree of a DDN: level l picks one of K_l
 * nodes, so a latent is L indices. Generation draws them uniformly; walking
 * the tree keeps a prefix and re-draws the rest.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { DdnModel } from '../../src/model/model.js';
import { FixedSampler } from '../../src/sampling/basic.js';
import type { RandomSource } from '../../src/sampling/sampler.js';

/** The picked image of one level at that level's own side. */
export interface LevelImage {
  level: number;
  side: number;
  /** [side, side, c] in [0, 1]. */
  pixels: Float32Array;
}

/**
 * Draws one index per level, uniformly in [0, K_l). The draws are those of
 * `DdnModel.sample(1, rng)`, so a seed gives the same image as the command
 * line's `ddn sample --n 1 --seed`.
 */
export function randomLatent(ks: readonly number[], rng: RandomSource): Int32Array {
  return Int32Array.from(ks, (k) => Math.floor(rng.next() * k));
}

/** Keeps the levels before `level` and re-draws `level` and every level after it. */
export function redrawFrom(latent: Int32Array, level: number, ks: readonly number[], rng: RandomSource): Int32Array {
  if (!(Number.isInteger(level) && level >= 0 && level < ks.length)) {
    throw new RangeError(`level ${level} is outside [0, ${ks.length})`);
  }
  const walked = Int32Array.from(latent);
  for (let l = level; l < ks.length; l++) walked[l] = Math.floor(rng.next() * ks[l]);
  return walked;
}

/**
 * Decodes one latent and returns the picked image of every level, coarse to
 * fine; the last one is the final image. Reads back asynchronously, because
 * a given latent needs no host read during the forward pass.
 */
export async function decodeLevels(model: DdnModel, latent: Int32Array): Promise<LevelImage[]> {
  const pictures = tf.tidy(() => {
    const result = model.network.forward(1, new FixedSampler([latent]));
    return result.levels.map((l) => tf.clipByValue(tf.div(tf.add(l.picked, 1), 2), 0, 1)); // [1, s, s, c] each
  });
  try {
    const values = await Promise.all(pictures.map((p) => p.data()));
    return pictures.map((p, level) => ({ level, side: p.shape[1] as number, pixels: values[level] as Float32Array }));
  } finally {
    tf.dispose(pictures);
  }
}
