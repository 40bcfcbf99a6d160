/**
 * Building blocks shared by both paradigms: convolution, per-pixel layer
 * normalisation, SiLU, residual blocks and resizing. All tensors are NHWC.
 */
import * as tf from '@tensorflow/tfjs-core';

import { conv2d } from '../backend/conv.js';
import type { ParamStore } from './params.js';

export function silu(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(x, tf.sigmoid(x));
}

/** A convolution with bias; `kernel` 1 or 3, 'same' padding. */
export class Conv {
  private readonly filter: tf.Variable;
  private readonly bias: tf.Variable;

  constructor(
    store: ParamStore,
    name: string,
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: 1 | 3,
    init: 'he' | 'small' = 'he',
  ) {
    // filter: [kernel, kernel, inChannels, outChannels]
    this.filter = store.create(`${name}.filter`, [kernel, kernel, inChannels, outChannels], init);
    this.bias = store.create(`${name}.bias`, [outChannels], 'zeros');
  }

  /** [b, h, w, inChannels] → [b, h, w, outChannels] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const y = conv2d(x, this.filter as tf.Tensor4D, 1, 'same');
    return tf.add(y, this.bias);
  }
}

/** Layer normalisation over the channels of each pixel, with scale and shift. */
export class ChannelNorm {
  private readonly scale: tf.Variable;
  private readonly shift: tf.Variable;

  constructor(store: ParamStore, name: string, channels: number) {
    this.scale = store.create(`${name}.scale`, [channels], 'ones');
    this.shift = store.create(`${name}.shift`, [channels], 'zeros');
  }

  /** [b, h, w, c] → [b, h, w, c] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const { mean, variance } = tf.moments(x, 3, true); // [b, h, w, 1] each
    const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
    return tf.add(tf.mul(normalised, this.scale), this.shift);
  }
}

/**
 * x + conv(silu(norm(conv(silu(norm(x)))))). The last convolution starts
 * small so that a fresh block is close to the identity.
 */
export class ResBlock {
  private readonly norm1: ChannelNorm;
  private readonly conv1: Conv;
  private readonly norm2: ChannelNorm;
  private readonly conv2: Conv;

  constructor(store: ParamStore, name: string, channels: number) {
    this.norm1 = new ChannelNorm(store, `${name}.norm1`, channels);
    this.conv1 = new Conv(store, `${name}.conv1`, channels, channels, 3);
    this.norm2 = new ChannelNorm(store, `${name}.norm2`, channels);
    this.conv2 = new Conv(store, `${name}.conv2`, channels, channels, 3, 'small');
  }

  /** [b, h, w, c] → [b, h, w, c] */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const h = this.conv1.apply(silu(this.norm1.apply(x)));
    return tf.add(x, this.conv2.apply(silu(this.norm2.apply(h))));
  }
}

/** Nearest-neighbour resize to a square side: [b, h, w, c] → [b, size, size, c]. */
export function resizeNearest(x: tf.Tensor4D, size: number): tf.Tensor4D {
  if (x.shape[1] === size && x.shape[2] === size) return x;
  return tf.image.resizeNearestNeighbor(x, [size, size]);
}

/** Bilinear resize to a square side: [b, h, w, c] → [b, size, size, c]. */
export function resizeBilinear(x: tf.Tensor4D, size: number): tf.Tensor4D {
  if (x.shape[1] === size && x.shape[2] === size) return x;
  return tf.image.resizeBilinear(x, [size, size], false, true);
}

/** Box-filter downsample by an integer factor: [b, h, w, c] → [b, size, size, c]. */
export function resizeArea(x: tf.Tensor4D, size: number): tf.Tensor4D {
  const factor = x.shape[1] / size;
  if (factor === 1) return x;
  return tf.avgPool(x, factor, factor, 'valid');
}

/**
 * Adds `extra` [b, h, w, e] into channels [offset, offset + e) of `x`
 * [b, h, w, c], the way a block takes its conditions. It multiplies by a
 * 0/1 placement matrix instead of zero padding, because the gradient of
 * padding is a slice along the last axis, which is slow on the wasm backend.
 */
export function addIntoChannels(x: tf.Tensor4D, extra: tf.Tensor4D, offset: number): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const extraChannels = extra.shape[3];
  const placement = new Float32Array(extraChannels * channels);
  for (let i = 0; i < extraChannels; i++) placement[i * channels + offset + i] = 1;
  const flat = tf.reshape(extra, [batch * height * width, extraChannels]); // [b·h·w, e]
  const spread = tf.matMul(flat, tf.tensor2d(placement, [extraChannels, channels])); // [b·h·w, c]
  return tf.add(x, tf.reshape(spread, [batch, height, width, channels]));
}

/**
 * Builds the fixed input features, [1, size, size, channels]. Channel 2j of
 * pixel i (the flattened index) is sin(i / 10000^(2j/c)) and channel 2j+1
 * the cosine. Linear ramps from −1 to 1 along x, y, −x and −y are added into
 * the last four channels.
 */
export function positionEmbedding(size: number, channels: number): tf.Tensor4D {
  const data = new Float32Array(size * size * channels);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const pixel = y * size + x;
      const base = pixel * channels;
      for (let j = 0; j < channels; j++) {
        const angle = pixel / 10000 ** ((2 * Math.floor(j / 2)) / channels);
        data[base + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
      const rampX = size === 1 ? 0 : (2 * x) / (size - 1) - 1;
      const rampY = size === 1 ? 0 : (2 * y) / (size - 1) - 1;
      const ramps = [rampX, rampY, -rampX, -rampY];
      for (let r = 0; r < 4 && r < channels; r++) {
        data[base + channels - 4 + r] += ramps[r];
      }
    }
  }
  return tf.tensor4d(data, [1, size, size, channels]);
}
