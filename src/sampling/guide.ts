/**
 * The library entry point of zero-shot conditional generation: describe one
 * or more conditions on the host, get guided samples from a trained model.
 *
 *   const { images } = guidedSample(model, [
 *     { condition: { task: 'inpaint', images: digit, mask: presetMask('top', 32) }, weight: 1 },
 *     { condition: { task: 'class', label: 7, classifier }, weight: 1 },
 *   ], { n: 8, seed: 0 });
 *
 * Host images are NHWC Float32Array in [0, 1], as everywhere in the project.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Classifier } from '../classifier/cnn.js';
import { Rng } from '../data/rng.js';
import { DdnError } from '../errors.js';
import type { ModelConfig } from '../model/config.js';
import type { DdnModel, GeneratedBatch } from '../model/model.js';
import { ClassScorer } from './classScorer.js';
import { DEFAULT_TOP_K, GuidedSampler, type Scorer } from './guided.js';
import {
  ColorizeScorer,
  DenoiseScorer,
  InpaintScorer,
  LowBitScorer,
  ReconstructScorer,
  SuperResolutionScorer,
} from './scorers.js';

export const GUIDE_TASKS = ['reconstruct', 'superres', 'colorize', 'inpaint', 'denoise', 'lowbit', 'class'] as const;
export type GuideTask = (typeof GUIDE_TASKS)[number];

export const SUPERRES_FACTORS = [2, 4, 8] as const;
export type SuperResolutionFactor = (typeof SUPERRES_FACTORS)[number];

/**
 * One condition. `images` contains m images back to back, where m is 1 (one
 * condition shared by every sample) or n (one condition per sample):
 * - reconstruct, inpaint, denoise, lowbit: [m, S, S, c], the target, the
 *   image whose hidden pixels are ignored, the noisy image, the few-bit image;
 * - superres: [m, S/factor, S/factor, c], the low-resolution input;
 * - colorize: [m, S, S, 1], the gray input (RGB models only).
 */
export type GuideCondition =
  | { task: 'reconstruct'; images: Float32Array }
  | { task: 'superres'; images: Float32Array; factor: SuperResolutionFactor }
  | { task: 'colorize'; images: Float32Array }
  /** `mask` [S, S]: 1 known, 0 hidden. */
  | { task: 'inpaint'; images: Float32Array; mask: Float32Array }
  | { task: 'denoise'; images: Float32Array }
  /** `bits` per channel of the input, 1 to 8. */
  | { task: 'lowbit'; images: Float32Array; bits: number }
  /** `label`: one class for all samples, or one per sample [n]. The caller keeps the classifier. */
  | { task: 'class'; label: number | ArrayLike<number>; classifier: Classifier };

/** A condition with its weight in the rank combination (≥ 0). */
export interface GuideTerm {
  condition: GuideCondition;
  weight: number;
}

export interface GuideOptions {
  /** Number of samples. */
  n: number;
  /** Candidates kept per layer before the uniform draw; 1 is greedy. Default 2. */
  topK?: number;
  /** Fixes the draws: the same seed gives the same samples. Default 0. */
  seed?: number;
  /** Images per forward pass. Default 16. */
  batchSize?: number;
}

/** Side and channels of one condition image. */
function conditionShape(condition: GuideCondition, config: ModelConfig): [number, number] | null {
  const { imageSize: size, imageChannels: channels } = config;
  switch (condition.task) {
    case 'superres':
      return [size / condition.factor, channels];
    case 'colorize':
      return [size, 1];
    case 'class':
      return null;
    default:
      return [size, channels];
  }
}

/**
 * Checks a condition against a model and `n` samples.
 *
 * @returns m, the number of condition images (1 or n; 0 for class guidance).
 * @throws DdnError for a condition the model cannot serve: colorize on a
 *     gray model, a mask or image of the wrong size, a class out of range,
 *     a classifier for other channels, an unsupported factor or bit depth.
 */
export function checkCondition(condition: GuideCondition, config: ModelConfig, n: number): number {
  const { imageSize: size, imageChannels: channels } = config;
  const task = condition.task;
  if (!(GUIDE_TASKS as readonly string[]).includes(task)) {
    throw new DdnError(`unknown guidance task '${String(task)}': expected one of ${GUIDE_TASKS.join(', ')}`);
  }
  if (task === 'colorize' && channels !== 3) {
    throw new DdnError('colorize needs a model that makes RGB images, but this model makes gray images');
  }
  if (task === 'superres') {
    if (!(SUPERRES_FACTORS as readonly number[]).includes(condition.factor)) {
      throw new DdnError(`invalid super-resolution factor ${condition.factor}: expected 2, 4 or 8`);
    }
    if (size / condition.factor < 1) {
      throw new DdnError(`super-resolution by ${condition.factor} needs images of side ≥ ${condition.factor}, the model makes ${size}`);
    }
  }
  if (task === 'inpaint' && condition.mask.length !== size * size) {
    throw new DdnError(
      `the inpainting mask has ${condition.mask.length} values, the model needs ${size}×${size} = ${size * size}`,
    );
  }
  if (task === 'lowbit' && !(Number.isInteger(condition.bits) && condition.bits >= 1 && condition.bits <= 8)) {
    throw new DdnError(`invalid bit depth ${condition.bits}: expected an integer in [1, 8]`);
  }
  if (task === 'class') {
    const { classes, imageChannels } = condition.classifier.config;
    if (imageChannels !== channels) {
      throw new DdnError(`the classifier takes ${imageChannels}-channel images, the model makes ${channels}-channel images`);
    }
    const labels = typeof condition.label === 'number' ? [condition.label] : Array.from(condition.label);
    if (typeof condition.label !== 'number' && labels.length !== n) {
      throw new DdnError(`class guidance: expected one class or ${n} classes, got ${labels.length}`);
    }
    for (const label of labels) {
      if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
        throw new DdnError(`invalid class ${label}: the classifier has classes 0 to ${classes - 1}`);
      }
    }
    return 0;
  }

  const [side, imageChannels] = conditionShape(condition, config) as [number, number];
  const length = side * side * imageChannels;
  const m = condition.images.length / length;
  if (m !== 1 && m !== n) {
    throw new DdnError(
      `${task}: expected 1 or ${n} condition images of ${side}×${side}×${imageChannels}, ` +
        `got ${condition.images.length} values`,
    );
  }
  return m;
}

/**
 * Builds the scorer of one condition for samples [start, start + count).
 * Tensors made here are disposed before returning; the scorer keeps clones.
 */
function makeScorer(
  condition: GuideCondition,
  config: ModelConfig,
  m: number,
  start: number,
  count: number,
): Scorer {
  if (condition.task === 'class') {
    const label = typeof condition.label === 'number' ? condition.label : Array.from(condition.label).slice(start, start + count);
    return new ClassScorer(condition.classifier, label, count);
  }
  const [side, channels] = conditionShape(condition, config) as [number, number];
  const length = side * side * channels;
  const images = tf.tidy(() => {
    // One shared condition is repeated; per-sample conditions are sliced.
    const host =
      m === 1 ? condition.images : condition.images.subarray(start * length, (start + count) * length);
    const x = tf.tensor4d(host, [m === 1 ? 1 : count, side, side, channels]);
    const batch = m === 1 ? tf.tile(x, [count, 1, 1, 1]) : x; // [count, side, side, c]
    return tf.sub(tf.mul(batch, 2), 1) as tf.Tensor4D; // [−1, 1]
  });
  try {
    switch (condition.task) {
      case 'reconstruct':
        return new ReconstructScorer(images);
      case 'superres':
        return new SuperResolutionScorer(images);
      case 'colorize':
        return new ColorizeScorer(images);
      case 'inpaint':
        return new InpaintScorer(images, condition.mask);
      case 'denoise':
        return new DenoiseScorer(images);
      case 'lowbit':
        return new LowBitScorer(images, condition.bits);
    }
  } finally {
    images.dispose();
  }
}

/**
 * Makes `n` samples, each layer keeping the best `topK` candidates under the
 * rank combination of `terms` and drawing one.
 *
 * @returns the images [n, S, S, c] in [0, 1] and their latents.
 * @throws DdnError for conditions the model cannot serve (see checkCondition).
 */
export function guidedSample(model: DdnModel, terms: GuideTerm[], options: GuideOptions): GeneratedBatch {
  const { n, topK = DEFAULT_TOP_K, seed = 0, batchSize = 16 } = options;
  if (!(Number.isInteger(n) && n >= 1)) {
    throw new DdnError(`invalid sample count ${n}: expected an integer ≥ 1`);
  }
  if (!(Number.isInteger(topK) && topK >= 1)) {
    throw new DdnError(`invalid top-k ${topK}: expected an integer ≥ 1`);
  }
  if (terms.length === 0 || !terms.some((t) => t.weight > 0)) {
    throw new DdnError('guided sampling needs at least one condition with a weight above 0');
  }
  for (const { weight } of terms) {
    if (!(Number.isFinite(weight) && weight >= 0)) {
      throw new DdnError(`invalid condition weight ${weight}: expected a finite number ≥ 0`);
    }
  }
  const counts = terms.map((t) => checkCondition(t.condition, model.config, n));
  const rng = new Rng(seed);

  return model.runBatched(n, batchSize, (start, count) => {
    const scorers: Scorer[] = [];
    try {
      terms.forEach((t, i) => {
        // Weight-0 conditions are checked above but never evaluated.
        if (t.weight > 0) scorers.push(makeScorer(t.condition, model.config, counts[i], start, count));
      });
    } catch (error) {
      for (const s of scorers) s.dispose();
      throw error;
    }
    const active = terms.filter((t) => t.weight > 0);
    const sampler = new GuidedSampler(
      scorers.map((scorer, i) => ({ scorer, weight: active[i].weight })),
      { topK, rng },
    );
    return Object.assign(sampler, { release: () => sampler.dispose() });
  });
}
