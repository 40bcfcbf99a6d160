/**
 * The tensor side of a Split-and-Prune event: node `from` is copied into
 * node `to` in every variable that stores one slice per node along axis 1
 * ([C, K, c]), together with that slice's Adam moments.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Adam } from './adam.js';

/** Copies slice `from` of axis 1 into slice `to` of `variable` [C, K, c]. */
export function copyNodeSlice(variable: tf.Variable, from: number, to: number): void {
  tf.tidy(() => {
    const k = variable.shape[1] as number;
    const source = tf.slice(variable, [0, from, 0], [-1, 1, -1]); // [C, 1, c]
    const mask = tf.reshape(tf.oneHot(tf.tensor1d([to], 'int32'), k), [1, k, 1]); // [1, K, 1]
    const keep = tf.sub(1, mask);
    variable.assign(tf.add(tf.mul(variable, keep), tf.mul(source, mask)));
  });
}

export function cloneNode(variables: tf.Variable[], optimizer: Adam | null, from: number, to: number): void {
  for (const variable of variables) {
    copyNodeSlice(variable, from, to);
    const moments = optimizer?.momentsOf(variable);
    if (moments !== undefined) {
      copyNodeSlice(moments[0], from, to);
      copyNodeSlice(moments[1], from, to);
    }
  }
}
