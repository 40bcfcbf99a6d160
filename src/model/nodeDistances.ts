/**
 * Mean squared error between every node output of a DDL and a residual
 * target, without materialising the [b, K, h, w, c] candidates when that
 * is cheaper.
 *
 * Node k's output at pixel p is F_p · W_k (F the node features, W_k the
 * node's [C, c] weights). Its squared distance to the residual r expands to
 *   Σ_c W_kcᵀ G W_kc − 2 Σ_c W_kcᵀ M_c + Σ_p |r_p|²
 * with the per-image Gram matrix G = Σ_p F_p F_pᵀ [C, C] and M = Σ_p F_p r_pᵀ
 * [C, c]. That costs about h·w·C² + C²·K·c multiply-adds per image instead of
 * h·w·C·K·c, so time and memory stop growing with K·h·w.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Multiply-adds per image of the direct and the Gram form; the caller
 * takes the smaller.
 */
export function distanceCosts(pixels: number, channels: number, k: number, c: number) {
  return {
    direct: pixels * channels * k * c,
    gram: pixels * channels * channels + channels * channels * k * c + pixels * channels * c,
  };
}

/**
 * features [b, h, w, C], weights [C, K, c], residual [b, h, w, c] → [b, K],
 * by computing every node output.
 */
export function directSquaredDistances(
  features: tf.Tensor4D,
  weights: tf.Tensor,
  residual: tf.Tensor4D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, height, width, channels] = features.shape;
    const [, k, c] = weights.shape as [number, number, number];
    const flat = tf.reshape(features, [batch * height * width, channels]); // [b·h·w, C]
    const out = tf.reshape(tf.matMul(flat, tf.reshape(weights, [channels, k * c])), [
      batch,
      height * width,
      k,
      c,
    ]); // [b, h·w, K, c]
    const target = tf.reshape(residual, [batch, height * width, 1, c]); // [b, h·w, 1, c]
    return tf.mean(tf.squaredDifference(out, target), [1, 3]) as tf.Tensor2D; // [b, K]
  });
}

/** The same [b, K] through the Gram expansion above. */
export function gramSquaredDistances(
  features: tf.Tensor4D,
  weights: tf.Tensor,
  residual: tf.Tensor4D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, height, width, channels] = features.shape;
    const [, k, c] = weights.shape as [number, number, number];
    const pixels = height * width;
    const f = tf.reshape(features, [batch, pixels, channels]); // [b, h·w, C]
    const r = tf.reshape(residual, [batch, pixels, c]); // [b, h·w, c]
    const w = tf.reshape(weights, [channels, k * c]); // [C, K·c]

    // Quadratic term: Σ_c W_kcᵀ G W_kc.
    const gram = tf.matMul(f, f, true, false); // [b, C, C]
    const gw = tf.reshape(tf.matMul(tf.reshape(gram, [batch * channels, channels]), w), [
      batch,
      channels,
      k * c,
    ]); // [b, C, K·c]
    const quadratic = tf.sum(tf.reshape(tf.sum(tf.mul(gw, w), 1), [batch, k, c]), 2); // [b, K]

    // Cross term: Σ_c W_kcᵀ M_c with M = Fᵀ r.
    const m = tf.reshape(tf.matMul(f, r, true, false), [batch, channels * c]); // [b, C·c]
    const wByNode = tf.reshape(tf.transpose(weights, [0, 2, 1]), [channels * c, k]); // [C·c, K]
    const cross = tf.matMul(m, wByNode); // [b, K]

    const norm = tf.sum(tf.square(r), [1, 2], true); // [b, 1]
    const total = tf.add(tf.sub(quadratic, tf.mul(cross, 2)), tf.reshape(norm, [batch, 1]));
    // Rounding can push an exact match slightly below zero.
    return tf.div(tf.relu(total), pixels * c) as tf.Tensor2D; // [b, K]
  });
}

/** Picks the cheaper form for this layer's sizes. */
export function nodeSquaredDistances(
  features: tf.Tensor4D,
  weights: tf.Tensor,
  residual: tf.Tensor4D,
): tf.Tensor2D {
  const [, height, width, channels] = features.shape;
  const [, k, c] = weights.shape as [number, number, number];
  const cost = distanceCosts(height * width, channels, k, c);
  return cost.gram < cost.direct
    ? gramSquaredDistances(features, weights, residual)
    : directSquaredDistances(features, weights, residual);
}
