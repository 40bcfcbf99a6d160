/**
 * Scorers for image conditions. Each compares a layer's candidates with a
 * condition brought to the layer's side by area averaging, and scores a
 * candidate by the negated mean squared error of that comparison.
 *
 * Conditions are tensors in the model's range [−1, 1]. A scorer keeps its
 * own reference to the condition (a clone), so the caller may dispose its
 * copy at once; every scorer must be disposed.
 */
import * as tf from '@tensorflow/tfjs-core';

import { DdnError } from '../errors.js';
import { resizeArea } from '../model/layers.js';
import type { Scorer } from './guided.js';
import type { CandidateSet, LevelContext } from './sampler.js';

/** ITU-R BT.601 luminance weights of R, G and B; they sum to 1. */
export const LUMINANCE_WEIGHTS = [0.299, 0.587, 0.114] as const;

/** Sides of the images a scorer compares must divide each other. */
function checkSquare(name: string, image: tf.Tensor4D): void {
  if (image.shape[1] !== image.shape[2]) {
    throw new DdnError(`${name}: expected a square condition, got [${image.shape.join(', ')}]`);
  }
}

/** A condition and its area-averaged copies at smaller sides, made once each. */
class ResizedCondition {
  private readonly bySide = new Map<number, tf.Tensor4D>();
  readonly side: number;

  /** `image` [b, H, H, c]; the cache keeps a clone. */
  constructor(image: tf.Tensor4D) {
    const own = tf.keep(tf.clone(image));
    this.side = image.shape[1];
    this.bySide.set(this.side, own);
  }

  /** Returns the condition at `side` ≤ H, [b, side, side, c], owned by the cache. */
  at(side: number): tf.Tensor4D {
    let resized = this.bySide.get(side);
    if (resized === undefined) {
      if (side > this.side || this.side % side !== 0) {
        throw new RangeError(`condition of side ${this.side} cannot be averaged down to side ${side}`);
      }
      const full = this.bySide.get(this.side) as tf.Tensor4D;
      resized = tf.keep(tf.tidy(() => resizeArea(full, side)));
      this.bySide.set(side, resized);
    }
    return resized;
  }

  dispose(): void {
    for (const t of this.bySide.values()) t.dispose();
    this.bySide.clear();
  }
}

/** Negates a host array in place and returns it. */
function negate(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = -values[i];
  return values;
}

/** Reads a [b, K] tensor to the host as [b·K] and disposes it. */
function readScores(scores: tf.Tensor): Float32Array {
  const host = scores.dataSync() as Float32Array;
  scores.dispose();
  return host;
}

/** Flattens candidates [b, K, s, s, c] to a batch of images [b·K, s, s, c]. */
export function flattenCandidates(candidates: tf.Tensor5D): tf.Tensor4D {
  const [batch, k, height, width, channels] = candidates.shape;
  return tf.reshape(candidates, [batch * k, height, width, channels]); // [b·K, s, s, c]
}

/** Negated mean squared error of every candidate [b, K, s, s, c] to `condition` [b, s, s, c], as [b, K]. */
function negatedMse(candidates: tf.Tensor5D, condition: tf.Tensor4D): tf.Tensor2D {
  const diff = tf.sub(candidates, tf.expandDims(condition, 1)); // [b, K, s, s, c]
  return tf.neg(tf.mean(tf.square(diff), [2, 3, 4])) as tf.Tensor2D; // [b, K]
}

/** Reconstruction: L2 to a target image. Greedy, it equals `ArgminSampler`. */
export class ReconstructScorer implements Scorer {
  private readonly target: ResizedCondition;

  /** `target` [b, S, S, c] in [−1, 1]. */
  constructor(target: tf.Tensor4D) {
    checkSquare('reconstruct', target);
    this.target = new ResizedCondition(target);
  }

  score(context: LevelContext, candidates: CandidateSet): Float32Array {
    return negate(candidates.squaredDistances(this.target.at(context.size)));
  }

  dispose(): void {
    this.target.dispose();
  }
}

/**
 * Super-resolution: each candidate, averaged down to the low-resolution
 * side, against the low-resolution input. Layers coarser than the input
 * compare at their own side.
 */
export class SuperResolutionScorer implements Scorer {
  private readonly lowRes: ResizedCondition;

  /** `lowRes` [b, S/f, S/f, c] in [−1, 1]. */
  constructor(lowRes: tf.Tensor4D) {
    checkSquare('superres', lowRes);
    this.lowRes = new ResizedCondition(lowRes);
  }

  score(context: LevelContext, candidates: CandidateSet): Float32Array {
    const side = context.size;
    if (side <= this.lowRes.side) {
      return negate(candidates.squaredDistances(this.lowRes.at(side)));
    }
    const low = this.lowRes.side;
    return readScores(
      tf.tidy(() => {
        const all = candidates.materialize(); // [b, K, s, s, c]
        const [batch, k, , , c] = all.shape;
        const small = resizeArea(flattenCandidates(all), low); // [b·K, low, low, c]
        return negatedMse(tf.reshape(small, [batch, k, low, low, c]) as tf.Tensor5D, this.lowRes.at(low));
      }),
    );
  }

  dispose(): void {
    this.lowRes.dispose();
  }
}

/** Colorization: the luminance of each RGB candidate against a gray input. */
export class ColorizeScorer implements Scorer {
  private readonly gray: ResizedCondition;

  /** `gray` [b, S, S, 1] in [−1, 1]. */
  constructor(gray: tf.Tensor4D) {
    checkSquare('colorize', gray);
    if (gray.shape[3] !== 1) {
      throw new DdnError(`colorize: expected a gray condition [b, S, S, 1], got [${gray.shape.join(', ')}]`);
    }
    this.gray = new ResizedCondition(gray);
  }

  score(context: LevelContext, candidates: CandidateSet): Float32Array {
    return readScores(
      tf.tidy(() => {
        const all = candidates.materialize(); // [b, K, s, s, 3]
        if (all.shape[4] !== 3) {
          throw new DdnError(`colorize: expected RGB candidates, got ${all.shape[4]} channel(s)`);
        }
        // Luminance is linear with weights summing to 1, so it maps [−1, 1] onto [−1, 1].
        const luminance = tf.sum(tf.mul(all, tf.tensor1d([...LUMINANCE_WEIGHTS])), 4, true); // [b, K, s, s, 1]
        return negatedMse(luminance as tf.Tensor5D, this.gray.at(context.size));
      }),
    );
  }

  dispose(): void {
    this.gray.dispose();
  }
}

/**
 * Inpainting: L2 over the known pixels only. At a coarser side a pixel's
 * weight is the share of known pixels in its block, and the target is the
 * mean of the known pixels there, so hidden pixels never leak in.
 */
export class InpaintScorer implements Scorer {
  private readonly maskedTarget: ResizedCondition;
  private readonly mask: ResizedCondition;

  /**
   * @param target `[b, S, S, c]` in [−1, 1]; values under hidden pixels are ignored.
   * @param mask `[S, S]` on the host, 1 where the pixel is known and 0 where hidden.
   */
  constructor(target: tf.Tensor4D, mask: Float32Array) {
    checkSquare('inpaint', target);
    const side = target.shape[1];
    if (mask.length !== side * side) {
      throw new DdnError(`inpaint: expected a ${side}×${side} mask (${side * side} values), got ${mask.length} values`);
    }
    if (!mask.some((m) => m > 0)) {
      throw new DdnError('inpaint: the mask has no known pixel, so there is nothing to guide by');
    }
    const maskTensor = tf.tensor4d(mask, [1, side, side, 1]);
    const masked = tf.mul(target, maskTensor) as tf.Tensor4D;
    this.maskedTarget = new ResizedCondition(masked);
    this.mask = new ResizedCondition(maskTensor);
    tf.dispose([maskTensor, masked]);
  }

  score(context: LevelContext, candidates: CandidateSet): Float32Array {
    return readScores(
      tf.tidy(() => {
        const all = candidates.materialize(); // [b, K, s, s, c]
        const channels = all.shape[4];
        const weight = this.mask.at(context.size); // [1, s, s, 1], share of known pixels
        const safeWeight = tf.maximum(weight, 1e-8);
        const target = tf.div(this.maskedTarget.at(context.size), safeWeight); // [b, s, s, c]
        const diff = tf.sub(all, tf.expandDims(target, 1)); // [b, K, s, s, c]
        const weighted = tf.mul(tf.square(diff), tf.expandDims(weight, 1)); // [b, K, s, s, c]
        const total = tf.mul(tf.sum(weight), channels); // Σ weight · c
        return tf.neg(tf.div(tf.sum(weighted, [2, 3, 4]), total)); // [b, K]
      }),
    );
  }

  dispose(): void {
    this.maskedTarget.dispose();
    this.mask.dispose();
  }
}

/**
 * Smooths images [n, s, s, c] with a normalised 3×3 binomial kernel. Near
 * the border the kernel is renormalised over the pixels inside the image.
 */
export function smooth(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [, height, width, channels] = images.shape;
    const taps = [1, 2, 1];
    const kernel = new Float32Array(9 * channels);
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 3; x++) {
        for (let c = 0; c < channels; c++) kernel[(y * 3 + x) * channels + c] = (taps[y] * taps[x]) / 16;
      }
    }
    const filter = tf.tensor4d(kernel, [3, 3, channels, 1]);
    const blurred = tf.depthwiseConv2d(images, filter, 1, 'same'); // [n, s, s, c]
    const coverage = tf.depthwiseConv2d(tf.ones([1, height, width, channels]) as tf.Tensor4D, filter, 1, 'same'); // [1, s, s, c]
    return tf.div(blurred, coverage) as tf.Tensor4D;
  });
}

/**
 * Denoising: each candidate, smoothed, against the noisy input smoothed the
 * same way. Smoothing both sides averages most of the noise out of the
 * comparison, so candidates are not rewarded for copying the noise.
 */
export class DenoiseScorer implements Scorer {
  private readonly noisy: ResizedCondition;
  private readonly smoothed = new Map<number, tf.Tensor4D>();

  /** `noisy` [b, S, S, c] in [−1, 1], values outside the range allowed. */
  constructor(noisy: tf.Tensor4D) {
    checkSquare('denoise', noisy);
    this.noisy = new ResizedCondition(noisy);
  }

  private smoothedAt(side: number): tf.Tensor4D {
    let result = this.smoothed.get(side);
    if (result === undefined) {
      result = tf.keep(smooth(this.noisy.at(side)));
      this.smoothed.set(side, result);
    }
    return result;
  }

  score(context: LevelContext, candidates: CandidateSet): Float32Array {
    const condition = this.smoothedAt(context.size);
    return readScores(
      tf.tidy(() => {
        const all = candidates.materialize(); // [b, K, s, s, c]
        const smoothedCandidates = tf.reshape(smooth(flattenCandidates(all)), all.shape) as tf.Tensor5D;
        return negatedMse(smoothedCandidates, condition);
      }),
    );
  }

  dispose(): void {
    this.noisy.dispose();
    for (const t of this.smoothed.values()) t.dispose();
    this.smoothed.clear();
  }
}

/**
 * Quantises values in [−1, 1] to `bits` bits per channel: 2^bits evenly
 * spaced levels from −1 to 1, nearest level wins.
 */
export function quantize(x: tf.Tensor, bits: number): tf.Tensor {
  const steps = 2 ** bits - 1;
  return tf.tidy(() => {
    const unit = tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1); // [0, 1]
    const levels = tf.div(tf.round(tf.mul(unit, steps)), steps);
    return tf.sub(tf.mul(levels, 2), 1);
  });
}

/** Weight of the plain L2 term that orders candidates which quantise alike. */
const LOW_BIT_TIE_BREAK = 1e-3;

/**
 * Low-bit restoration: at the full side, each candidate quantised to the
 * input's bit depth against the few-bit input, plus a small plain L2 term
 * that orders candidates which quantise to the same image. At coarser
 * sides a quantised block mean carries little information, so candidates are compared
 * unquantised with the area-averaged input, which approximates the
 * average of the original image.
 */
export class LowBitScorer implements Scorer {
  private readonly input: ResizedCondition;

  /** `quantized` [b, S, S, c] in [−1, 1] with 2^bits levels; `bits` in [1, 8]. */
  constructor(
    quantized: tf.Tensor4D,
    private readonly bits: number,
  ) {
    checkSquare('lowbit', quantized);
    if (!(Number.isInteger(bits) && bits >= 1 && bits <= 8)) {
      throw new DdnError(`lowbit: invalid bit depth ${bits}: expected an integer in [1, 8]`);
    }
    this.input = new ResizedCondition(quantized);
  }

  score(context: LevelContext, candidates: CandidateSet): Float32Array {
    const side = context.size;
    const plain = negate(candidates.squaredDistances(this.input.at(side)));
    if (side < this.input.side) return plain;
    const quantizedScores = readScores(
      tf.tidy(() => negatedMse(quantize(candidates.materialize(), this.bits) as tf.Tensor5D, this.input.at(side))),
    );
    for (let i = 0; i < plain.length; i++) {
      quantizedScores[i] += LOW_BIT_TIE_BREAK * plain[i];
    }
    return quantizedScores;
  }

  dispose(): void {
    this.input.dispose();
  }
}
