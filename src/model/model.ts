/**
 * The model facade: a config, its parameters and the network of the chosen
 * paradigm, with the tasks that differ only in the sampler they pass in.
 * Host images are NHWC Float32Array in [0, 1]; the network works in [−1, 1].
 */
import * as tf from '@tensorflow/tfjs-core';

import { ArgminSampler, FixedSampler, RandomSampler } from '../sampling/basic.js';
import type { RandomSource, Sampler } from '../sampling/sampler.js';
import { type UsagePrior, UsagePriorSampler } from '../sampling/usagePrior.js';
import { DdnError } from '../errors.js';
import { type ConditionInput, conditionChannels } from './condition.js';
import { type ModelConfig, levelKs } from './config.js';
import { resizeBilinear } from './layers.js';
import type { DdnNetwork } from './network.js';
import { ParamStore } from './params.js';
import { PyramidNetwork } from './pyramid.js';
import { RecurrenceNetwork } from './recurrence.js';

/** Images on the host with the latent that made each. */
export interface GeneratedBatch {
  /** [n, S, S, c] in [0, 1]. */
  images: Float32Array;
  /** One latent per image, each [L'] where L' is the number of levels run. */
  latents: Int32Array[];
}

/** What a conditional model is conditioned on, for `n` images on the host. */
export interface HostCondition {
  /** Class per image, [n]. */
  labels?: Int32Array;
  /** Condition images, [n, S, S, cc] in [0, 1] (edges, gray or low-resolution copies). */
  images?: Float32Array;
}

export class DdnModel {
  readonly params: ParamStore;
  readonly network: DdnNetwork & { dispose(): void };

  /** Builds a model with fresh weights; `seed` fixes them. */
  constructor(
    readonly config: ModelConfig,
    seed = 0,
  ) {
    this.params = new ParamStore(seed);
    this.network =
      config.paradigm === 'single-shot'
        ? new PyramidNetwork(this.params, config)
        : new RecurrenceNetwork(this.params, config);
  }

  get levels(): number {
    return this.network.levelCount;
  }

  /** K of every level, [L]. */
  get ks(): number[] {
    return levelKs(this.config);
  }

  /** Number of pixels of one image, S·S·c. */
  get imageLength(): number {
    return this.config.imageSize ** 2 * this.config.imageChannels;
  }

  /**
   * Makes `n` new images. Each level picks uniformly at random, or from
   * `prior` when given: its row per class label for a class-conditional
   * model, else its row 0.
   */
  sample(n: number, rng: RandomSource, batchSize = 64, condition?: HostCondition, prior?: UsagePrior): GeneratedBatch {
    if (prior === undefined) {
      return this.runBatched(n, batchSize, () => new RandomSampler(rng), this.levels, condition);
    }
    const classConditional = this.config.condition === 'class';
    const labels = classConditional ? condition?.labels : undefined;
    const rows = classConditional ? this.config.classCount : 1;
    if (prior.counts.rows !== rows) {
      throw new DdnError(`the node usage prior has ${prior.counts.rows} row(s), but this model needs ${rows}`);
    }
    return this.runBatched(
      n,
      batchSize,
      (start, count) => new UsagePriorSampler(prior, rng, labels?.subarray(start, start + count)),
      this.levels,
      condition,
    );
  }

  /**
   * Finds for each image [n, S, S, c] in [0, 1] the latent whose output is
   * closest, level by level, and returns that output.
   */
  reconstruct(
    images: Float32Array,
    batchSize = 64,
    condition?: HostCondition,
    maxLevels = this.levels,
  ): GeneratedBatch {
    const n = images.length / this.imageLength;
    const S = this.config.imageSize;
    const c = this.config.imageChannels;
    return this.runBatched(n, batchSize, (start, count) => {
      const slice = images.subarray(start * this.imageLength, (start + count) * this.imageLength);
      const target = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(slice, [count, S, S, c]), 2), 1)) as tf.Tensor4D;
      const sampler = new ArgminSampler(target);
      return Object.assign(sampler, {
        release: () => {
          sampler.dispose();
          target.dispose();
        },
      });
    }, maxLevels, condition);
  }

  /** Turns latents back into images; with `maxLevels` only the first levels run. */
  decode(
    latents: ArrayLike<number>[],
    maxLevels = this.levels,
    batchSize = 64,
    condition?: HostCondition,
  ): GeneratedBatch {
    return this.runBatched(
      latents.length,
      batchSize,
      (start, count) => new FixedSampler(Array.from(latents).slice(start, start + count)),
      maxLevels,
      condition,
    );
  }

  /** Runs any sampler over `n` images in batches and collects host results. */
  runBatched(
    n: number,
    batchSize: number,
    makeSampler: (start: number, count: number) => Sampler & { release?: () => void },
    maxLevels = this.levels,
    condition?: HostCondition,
  ): GeneratedBatch {
    this.checkCondition(n, condition);
    // The recurrence model's full-size UNet keeps one level's activations,
    // about 11 MB per image at 32×32 with 32 channels, so it takes fewer images.
    batchSize = Math.min(batchSize, this.config.paradigm === 'recurrence' ? 32 : batchSize);
    const images = new Float32Array(n * this.imageLength);
    const latents: Int32Array[] = [];
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const sampler = makeSampler(start, count);
      const batchCondition = this.batchCondition(condition, start, count);
      try {
        const out = tf.tidy(() => {
          const result = this.network.forward(count, sampler, maxLevels, batchCondition);
          // Shown at full size even when fewer levels ran.
          const full = resizeBilinear(result.image, this.config.imageSize);
          const pixels = tf.clipByValue(tf.div(tf.add(full, 1), 2), 0, 1); // [b, S, S, c]
          return { pixels, selections: result.levels.map((l) => l.selection.indices) };
        });
        images.set(out.pixels.dataSync(), start * this.imageLength);
        out.pixels.dispose();
        for (let i = 0; i < count; i++) {
          latents.push(Int32Array.from(out.selections, (indices) => indices[i]));
        }
      } finally {
        sampler.release?.();
        batchCondition?.image?.dispose();
      }
    }
    return { images, latents };
  }

  /** Checks that a conditional model gets a valid condition for `n` images. */
  checkCondition(n: number, condition: HostCondition | undefined): void {
    const { condition: kind, classCount, imageSize, imageChannels } = this.config;
    if (kind === 'none') return;
    if (kind === 'class') {
      const labels = condition?.labels;
      if (labels === undefined) {
        throw new DdnError(`this model is class-conditional: give a class in [0, ${classCount})`);
      }
      if (labels.length !== n) {
        throw new DdnError(`expected ${n} class labels, one per image, found ${labels.length}`);
      }
      const bad = labels.findIndex((l) => !(l >= 0 && l < classCount));
      if (bad >= 0) {
        throw new DdnError(`class ${labels[bad]} is out of range: this model has classes 0 to ${classCount - 1}`);
      }
      return;
    }
    const length = imageSize * imageSize * conditionChannels(kind, imageChannels);
    if (condition?.images === undefined) {
      throw new DdnError(`this model is conditioned on '${kind}' images: give a condition image`);
    }
    if (condition.images.length !== n * length) {
      throw new DdnError(
        `expected ${n} condition images of ${imageSize}×${imageSize}×${length / imageSize ** 2}, found ${condition.images.length} values`,
      );
    }
  }

  /** Makes the tensors of images [start, start + count) of a host condition. */
  private batchCondition(condition: HostCondition | undefined, start: number, count: number): ConditionInput | undefined {
    if (condition === undefined || this.config.condition === 'none') return undefined;
    if (condition.labels !== undefined) return { labels: condition.labels.subarray(start, start + count) };
    const { imageSize: S, imageChannels } = this.config;
    const cc = conditionChannels(this.config.condition, imageChannels);
    const length = S * S * cc;
    const slice = (condition.images as Float32Array).subarray(start * length, (start + count) * length);
    const image = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(slice, [count, S, S, cc]), 2), 1)) as tf.Tensor4D;
    return { image };
  }

  dispose(): void {
    this.network.dispose();
    this.params.dispose();
  }
}
