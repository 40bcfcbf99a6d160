/**
 * Conditional DDNs learn P(X | Y): the condition enters the network at the
 * start of every stage (each pyramid scale, each recurrence pass). Y is a
 * class label, or an image made from the target on the fly: Sobel edges, a
 * grayscale copy, or a 4× downsampled copy.
 */
import * as tf from '@tensorflow/tfjs-core';

import { DdnError } from '../errors.js';
import { Conv, resizeArea, resizeNearest } from './layers.js';
import type { ParamStore } from './params.js';

export type ConditionKind = 'none' | 'class' | 'edges' | 'gray' | 'lowres';

export const CONDITION_KINDS: readonly ConditionKind[] = ['none', 'class', 'edges', 'gray', 'lowres'];

/** What one batch is conditioned on; tensors belong to the caller. */
export interface ConditionInput {
  /** Class per image, [b]. */
  labels?: Int32Array;
  /** Condition image, [b, S, S, conditionChannels] in [−1, 1]. */
  image?: tf.Tensor4D;
}

/** Channels of the condition image of `kind`. */
export function conditionChannels(kind: ConditionKind, imageChannels: number): number {
  return kind === 'lowres' ? imageChannels : kind === 'edges' || kind === 'gray' ? 1 : 0;
}

/** Side of the low-resolution condition relative to the image side. */
export const LOWRES_FACTOR = 4;

/**
 * Makes the condition image of `kind` from targets [b, S, S, c] in [−1, 1].
 * Returns [b, S, S, cc] in [−1, 1].
 */
export function conditionFromTarget(kind: ConditionKind, target: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const size = target.shape[1];
    switch (kind) {
      case 'gray':
        return luminance(target);
      case 'lowres':
        // Keep the S×S layout so every stage resizes it the same way.
        return resizeNearest(resizeArea(target, Math.max(1, size / LOWRES_FACTOR)), size);
      case 'edges':
        return sobelEdges(luminance(target));
      default:
        throw new Error(`condition '${kind}' is not an image condition`);
    }
  });
}

/** [b, h, w, c] → [b, h, w, 1], ITU-R BT.601 luma weights for RGB. */
export function luminance(image: tf.Tensor4D): tf.Tensor4D {
  if (image.shape[3] === 1) return image;
  const weights = tf.tensor4d([0.299, 0.587, 0.114], [1, 1, 3, 1]);
  return tf.conv2d(image, weights, 1, 'same');
}

/**
 * Sobel gradient magnitude of a gray image in [−1, 1], [b, h, w, 1], scaled
 * so that a full black-to-white step gives 1, then mapped to [−1, 1]. The
 * filter runs on values in [0, 1], so the zero padding at the border matches
 * a black background and draws no false edge there.
 */
export function sobelEdges(gray: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const unit = tf.div(tf.add(gray, 1), 2) as tf.Tensor4D; // [b, h, w, 1] in [0, 1]
    const gx = tf.tensor4d([-1, 0, 1, -2, 0, 2, -1, 0, 1], [3, 3, 1, 1]);
    const gy = tf.tensor4d([-1, -2, -1, 0, 0, 0, 1, 2, 1], [3, 3, 1, 1]);
    const dx = tf.conv2d(unit, gx, 1, 'same');
    const dy = tf.conv2d(unit, gy, 1, 'same');
    // A step from 0 to 1 gives a Sobel response of 4.
    const magnitude = tf.div(tf.sqrt(tf.add(tf.square(dx), tf.square(dy))), 4);
    return tf.sub(tf.mul(tf.clipByValue(magnitude, 0, 1), 2), 1) as tf.Tensor4D;
  });
}

/**
 * Turns the condition into a feature map added at the start of one stage:
 * a learned vector per class, or a 3×3 convolution of the condition image
 * resized by area to the stage's side.
 */
export class ConditionEncoder {
  private readonly classEmbedding: tf.Variable | null = null;
  private readonly imageConv: Conv | null = null;

  constructor(
    store: ParamStore,
    name: string,
    private readonly kind: ConditionKind,
    private readonly channels: number,
    classCount: number,
    imageChannels: number,
  ) {
    if (kind === 'class') {
      this.classEmbedding = store.create(`${name}.classes`, [classCount, channels], 'he');
    } else if (kind !== 'none') {
      this.imageConv = new Conv(store, `${name}.image`, conditionChannels(kind, imageChannels), channels, 3);
    }
  }

  /** Adds the condition to `features` [b, s, s, C]; returns [b, s, s, C]. */
  apply(features: tf.Tensor4D, condition: ConditionInput | undefined): tf.Tensor4D {
    if (this.kind === 'none') return features;
    const [batch, size] = features.shape;
    if (this.classEmbedding !== null) {
      const labels = condition?.labels;
      if (labels === undefined || labels.length !== batch) {
        throw new DdnError(`a class-conditional model needs one class label per image (${batch})`);
      }
      const classCount = this.classEmbedding.shape[0] as number;
      const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), classCount); // [b, classes]
      const vectors = tf.matMul(oneHot, this.classEmbedding as tf.Tensor2D); // [b, C]
      return tf.add(features, tf.reshape(vectors, [batch, 1, 1, this.channels]));
    }
    const image = condition?.image;
    if (image === undefined || image.shape[0] !== batch) {
      throw new DdnError(`a '${this.kind}'-conditioned model needs one condition image per image (${batch})`);
    }
    const resized = resizeArea(image, size); // [b, s, s, cc]
    return tf.add(features, (this.imageConv as Conv).apply(resized));
  }
}
