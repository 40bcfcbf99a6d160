/**
 * A small image classifier of the project's own: it guides zero-shot class
 * generation and, trained a second time with another seed or width, judges
 * the results.
 *
 * Layout for an S×S×c input and base width w, every convolution 3×3 with
 * 'same' padding and ReLU:
 *   conv c→w, conv w→w stride 2      [b, S/2, S/2, w]
 *   conv w→2w, conv 2w→2w stride 2   [b, S/4, S/4, 2w]
 *   flatten, dense → classes         [b, classes]
 * Inputs are NHWC in [−1, 1], the range the DDN model works in.
 */
import * as tf from '@tensorflow/tfjs-core';

import { conv2d } from '../backend/conv.js';
import { DdnError } from '../errors.js';
import { isPowerOfTwo } from '../model/config.js';
import { ParamStore } from '../model/params.js';

export const CLASSIFIER_FORMAT_VERSION = 1;

export interface ClassifierConfig {
  /** Version of the saved layout; a classifier from another version is rejected. */
  formatVersion: number;
  /** Side of the square input images, a power of two ≥ 4. */
  imageSize: number;
  /** Input channels: 1 (gray) or 3 (RGB). */
  imageChannels: 1 | 3;
  /** Number of classes. */
  classes: number;
  /** Channels of the first stage; the second stage has twice as many. */
  width: number;
  /** Class names indexed by label, when the training data named them. */
  classNames?: string[];
}

export interface ClassifierOptions {
  imageSize: number;
  imageChannels: 1 | 3;
  classes: number;
  width?: number;
  classNames?: string[];
}

export const DEFAULT_CLASSIFIER_WIDTH = 16;

/** Builds and validates a classifier config. */
export function makeClassifierConfig(options: ClassifierOptions): ClassifierConfig {
  const { imageSize, imageChannels, classes, width = DEFAULT_CLASSIFIER_WIDTH } = options;
  if (!isPowerOfTwo(imageSize) || imageSize < 4) {
    throw new DdnError(`invalid classifier image size ${imageSize}: expected a power of two ≥ 4`);
  }
  if (imageChannels !== 1 && imageChannels !== 3) {
    throw new DdnError(`invalid classifier image channels ${String(imageChannels)}: expected 1 or 3`);
  }
  if (!Number.isInteger(classes) || classes < 2) {
    throw new DdnError(`invalid class count ${classes}: expected an integer ≥ 2`);
  }
  if (!Number.isInteger(width) || width < 1) {
    throw new DdnError(`invalid classifier width ${width}: expected a positive integer`);
  }
  const config: ClassifierConfig = {
    formatVersion: CLASSIFIER_FORMAT_VERSION,
    imageSize,
    imageChannels,
    classes,
    width,
  };
  if (options.classNames !== undefined) config.classNames = [...options.classNames];
  return config;
}

/** Checks a config read from disk. */
export function validateClassifierConfig(value: unknown, source: string): ClassifierConfig {
  if (typeof value !== 'object' || value === null) {
    throw new DdnError(`${source}: expected a JSON object with the classifier config`);
  }
  const c = value as Partial<ClassifierConfig>;
  if (c.formatVersion !== CLASSIFIER_FORMAT_VERSION) {
    throw new DdnError(
      `${source}: classifier format version ${String(c.formatVersion)} is not supported ` +
        `(expected ${CLASSIFIER_FORMAT_VERSION})`,
    );
  }
  const names = c.classNames;
  if (names !== undefined && (!Array.isArray(names) || names.length !== c.classes)) {
    throw new DdnError(`${source}: 'classNames' must list one name per class`);
  }
  return makeClassifierConfig({
    imageSize: c.imageSize as number,
    imageChannels: c.imageChannels as 1 | 3,
    classes: c.classes as number,
    width: c.width as number,
    classNames: names,
  });
}

interface ConvLayer {
  filter: tf.Variable;
  bias: tf.Variable;
  stride: 1 | 2;
}

export class Classifier {
  readonly params: ParamStore;
  private readonly convs: ConvLayer[];
  private readonly denseWeights: tf.Variable;
  private readonly denseBias: tf.Variable;

  /** Builds a classifier with fresh weights; `seed` fixes them. */
  constructor(
    readonly config: ClassifierConfig,
    seed = 0,
  ) {
    const { imageChannels: c, width: w, imageSize, classes } = config;
    this.params = new ParamStore(seed);
    const plan: [number, number, 1 | 2][] = [
      [c, w, 1],
      [w, w, 2],
      [w, 2 * w, 1],
      [2 * w, 2 * w, 2],
    ];
    this.convs = plan.map(([inChannels, outChannels, stride], i) => ({
      filter: this.params.create(`conv${i}.filter`, [3, 3, inChannels, outChannels], 'he'),
      bias: this.params.create(`conv${i}.bias`, [outChannels], 'zeros'),
      stride,
    }));
    const flat = (imageSize / 4) ** 2 * 2 * w;
    this.denseWeights = this.params.create('dense.weights', [flat, classes], 'he');
    this.denseBias = this.params.create('dense.bias', [classes], 'zeros');
  }

  /**
   * Class scores before the softmax.
   *
   * @param images `[batch, S, S, c]` in [−1, 1].
   * @returns `[batch, classes]`.
   */
  logits(images: tf.Tensor4D): tf.Tensor2D {
    const { imageSize: size, imageChannels: c } = this.config;
    const [batch, height, width, channels] = images.shape;
    if (height !== size || width !== size || channels !== c) {
      throw new DdnError(
        `classifier: expected images [b, ${size}, ${size}, ${c}], got [${images.shape.join(', ')}]`,
      );
    }
    return tf.tidy(() => {
      let h = images;
      for (const { filter, bias, stride } of this.convs) {
        h = tf.relu(tf.add(conv2d(h, filter as tf.Tensor4D, stride, 'same'), bias)) as tf.Tensor4D;
      }
      const flat = tf.reshape(h, [batch, -1]); // [b, (S/4)²·2w]
      return tf.add(tf.matMul(flat, this.denseWeights), this.denseBias) as tf.Tensor2D; // [b, classes]
    });
  }

  /** Log-probabilities of every class, `[batch, classes]`, for images `[batch, S, S, c]` in [−1, 1]. */
  logProbabilities(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => tf.logSoftmax(this.logits(images)));
  }

  /**
   * Predicted class of each host image, in batches.
   *
   * @param images `[n, S, S, c]` in [0, 1], the host convention.
   * @returns `[n]` class indices.
   */
  predict(images: Float32Array, batchSize = 256): Int32Array {
    const { imageSize: size, imageChannels: c } = this.config;
    const length = size * size * c;
    const n = images.length / length;
    if (!Number.isInteger(n)) {
      throw new DdnError(`classifier: ${images.length} values are not whole ${size}×${size}×${c} images`);
    }
    const predictions = new Int32Array(n);
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const slice = images.subarray(start * length, (start + count) * length);
      const labels = tf.tidy(() => {
        const x = tf.sub(tf.mul(tf.tensor4d(slice, [count, size, size, c]), 2), 1) as tf.Tensor4D;
        return tf.argMax(this.logits(x), 1); // [count]
      });
      predictions.set(labels.dataSync() as Int32Array, start);
      labels.dispose();
    }
    return predictions;
  }

  /** Length of a feature vector of `features`: the last convolution's channels, average- and max-pooled. */
  get featureDimension(): number {
    return 2 * 2 * this.config.width;
  }

  /**
   * Penultimate features of host images [n, S, S, c] in [0, 1]: the last
   * convolution's activations pooled over the pixels by mean and by max,
   * [n·featureDimension]. They feed Fréchet distances and precision/recall.
   */
  features(images: Float32Array, batchSize = 256): Float32Array {
    const { imageSize: size, imageChannels: c } = this.config;
    const length = size * size * c;
    const n = images.length / length;
    const out = new Float32Array(n * this.featureDimension);
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      const slice = images.subarray(start * length, (start + count) * length);
      const pooled = tf.tidy(() => {
        let h = tf.sub(tf.mul(tf.tensor4d(slice, [count, size, size, c]), 2), 1) as tf.Tensor4D;
        for (const { filter, bias, stride } of this.convs) {
          h = tf.relu(tf.add(conv2d(h, filter as tf.Tensor4D, stride, 'same'), bias)) as tf.Tensor4D;
        }
        return tf.concat([tf.mean(h, [1, 2]), tf.max(h, [1, 2])], 1); // [count, 2·channels]
      });
      out.set(pooled.dataSync() as Float32Array, start * this.featureDimension);
      pooled.dispose();
    }
    return out;
  }

  /** Returns the trainable variables in a fixed order. */
  variables(): tf.Variable[] {
    return this.params.list();
  }

  dispose(): void {
    this.params.dispose();
  }
}
