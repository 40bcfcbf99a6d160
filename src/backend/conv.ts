/**
 * The project's 2-D convolution: `tf.conv2d` forward, with gradients that
 * use forward convolutions only, so that training on the wasm backend avoids
 * its missing or slow backprop kernels (see `convBackprop.ts`).
 */
import * as tf from '@tensorflow/tfjs-core';

import {
  conv2dFilterGradient,
  conv2dInputGradient,
  type ConvGeometry,
} from './convBackprop.js';
import { nativeConvActive } from './nativeKernels.js';

/** Engine name of `@tensorflow/tfjs-node`, whose native gradient kernels are fast. */
const NATIVE_BACKEND = 'tensorflow';

/**
 * Convolves a batch of NHWC images with one filter bank, dilation 1.
 *
 * @param x Input, `[batch, inHeight, inWidth, inChannels]`.
 * @param filter `[filterHeight, filterWidth, inChannels, outChannels]`.
 * @param strides Step in both spatial axes.
 * @param pad `'same'` (TensorFlow rule: output `ceil(in / stride)`, extra
 *     padding at the bottom and right when the total is odd) or `'valid'`.
 * @returns `[batch, outHeight, outWidth, outChannels]`.
 */
export function conv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: 1 | 2,
  pad: 'same' | 'valid',
): tf.Tensor4D {
  if (x.rank !== 4 || filter.rank !== 4) {
    throw new Error(
      `conv2d: input and filter must be rank 4, got ranks ` +
        `${x.rank} and ${filter.rank}`,
    );
  }
  if (x.shape[3] !== filter.shape[2]) {
    throw new Error(
      `conv2d: input channels ${x.shape[3]} (input [${x.shape}]) must ` +
        `equal filter in-channels ${filter.shape[2]} (filter [${filter.shape}])`,
    );
  }

  // tfjs-node and the project's native kernels (nativeKernels.ts) have fast
  // backprop kernels, so the built-in gradient is used. The cpu backend
  // takes the forward-convolution gradients too: its own
  // Conv2DBackpropFilter was about 100x slower in bench/conv-micro.ts.
  if (tf.getBackend() === NATIVE_BACKEND || nativeConvActive()) {
    return tf.conv2d(x, filter, strides, pad);
  }

  const convolve = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const kernel = args[1] as tf.Tensor4D;
    const save = args[2] as tf.GradSaveFunc;
    save([input, kernel]);

    const value = tf.conv2d(input, kernel, strides, pad); // [batch, Ho, Wo, outC]
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] => {
      const savedInput = saved[0] as tf.Tensor4D;
      const savedFilter = saved[1] as tf.Tensor4D;
      const geometry: ConvGeometry = tf.backend_util.computeConv2DInfo(
        savedInput.shape,
        savedFilter.shape,
        strides,
        1,
        pad,
      );
      return [
        conv2dInputGradient(dy, savedFilter, geometry), // [batch, H, W, inC]
        conv2dFilterGradient(savedInput, dy, geometry), // [kh, kw, inC, outC]
      ];
    };
    return { value, gradFunc };
  });
  return convolve(x, filter);
}
