/**
 * One Adam step of a float32 weight in a single native call on the wasm
 * backend, instead of about ten tfjs operations with a kernel dispatch each.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { WASM, activeNative, allFloat32, heap } from './nativeRegistry.js';

/** The numbers of one Adam step; `stepSize` has the bias corrections folded in. */
export interface AdamConstants {
  beta1: number;
  beta2: number;
  epsilon: number;
  stepSize: number;
}

/**
 * Replaces `weight`, `first` and `second` by their values after one Adam
 * step with `gradient`. Returns false, and changes nothing, when the native
 * kernels are not running on wasm or a tensor is not float32.
 */
export function nativeAdamStep(
  weight: tf.Variable,
  gradient: tf.Tensor,
  first: tf.Variable,
  second: tf.Variable,
  c: AdamConstants,
): boolean {
  const active = activeNative();
  if (active === null || tf.getBackend() !== WASM || !allFloat32(weight, gradient, first, second)) {
    return false;
  }
  const backend = tf.backend() as BackendWasm;
  const outputs = [0, 1, 2].map(() => backend.makeOutput(weight.shape, 'float32'));
  // Views of the heap are taken after the allocations, which may grow it.
  active.adam(
    heap(backend, weight),
    heap(backend, gradient),
    heap(backend, first),
    heap(backend, second),
    ...(outputs.map((info) => heap(backend, info)) as [Float32Array, Float32Array, Float32Array]),
    Float32Array.of(c.beta1, 1 - c.beta1, c.beta2, 1 - c.beta2, c.epsilon, c.stepSize),
  );
  const [newWeight, newFirst, newSecond] = outputs.map((info) => tf.engine().makeTensorFromTensorInfo(info));
  weight.assign(newWeight);
  first.assign(newFirst);
  second.assign(newSecond);
  tf.dispose([newWeight, newFirst, newSecond]);
  return true;
}
