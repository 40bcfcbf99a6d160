/**
 * Native `Conv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter` for the
 * wasm backend (NHWC, dilation 1, float32); other cases fall back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import type { NativeGeometry } from './native.js';
import { activeNative, allFloat32, fallBack, heap } from './nativeRegistry.js';

type Shape4D = [number, number, number, number];

/** True when every dilation is 1. */
function undilated(dilations: [number, number] | number | undefined): boolean {
  return dilations === undefined || (Array.isArray(dilations) ? dilations.every((d) => d === 1) : dilations === 1);
}

/** `Conv2D`: x [b, H, W, inC] and filter [kh, kw, inC, outC] → [b, Ho, Wo, outC]. */
const forwardKernel: tf.KernelFunc = (args) => {
  const { x, filter } = args.inputs as Record<'x' | 'filter', tf.TensorInfo>;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as tf.Conv2DAttrs;
  const active = activeNative();
  if (active === null || dataFormat === 'NCHW' || !undilated(dilations) || !allFloat32(x, filter)) {
    return fallBack(tf.Conv2D, args);
  }
  const backend = args.backend as BackendWasm;
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4D, filter.shape as Shape4D, strides, 1, pad, dimRoundingMode);
  const out = backend.makeOutput(info.outShape, 'float32');
  // Views of the heap are taken after the allocation, which may grow it.
  active.conv2dForward(heap(backend, x), heap(backend, filter), heap(backend, out), nativeGeometry(info));
  return out;
};

/** `Conv2DBackpropInput`: dy and filter → dx shaped `inputShape`. */
const inputGradientKernel: tf.KernelFunc = (args) => {
  const { dy, filter } = args.inputs as Record<'dy' | 'filter', tf.TensorInfo>;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const active = activeNative();
  if (active === null || dataFormat === 'NCHW' || !allFloat32(dy, filter)) {
    return fallBack(tf.Conv2DBackpropInput, args);
  }
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as Shape4D, strides, 1, pad, dimRoundingMode);
  const backend = args.backend as BackendWasm;
  const dx = backend.makeOutput(inputShape, 'float32');
  active.conv2dInputGradient(heap(backend, dy), heap(backend, filter), heap(backend, dx), nativeGeometry(info));
  return dx;
};

/** `Conv2DBackpropFilter`: x and dy → dw [kh, kw, inC, outC]. */
const filterGradientKernel: tf.KernelFunc = (args) => {
  const { x, dy } = args.inputs as Record<'x' | 'dy', tf.TensorInfo>;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const active = activeNative();
  if (active === null || dataFormat === 'NCHW' || !allFloat32(x, dy)) {
    return fallBack(tf.Conv2DBackpropFilter, args);
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4D, filterShape, strides, 1, pad, dimRoundingMode);
  const backend = args.backend as BackendWasm;
  const dw = backend.makeOutput(filterShape, 'float32');
  active.conv2dFilterGradient(heap(backend, x), heap(backend, dy), heap(backend, dw), nativeGeometry(info));
  return dw;
};

/** The convolution kernels, by kernel name. */
export const CONV_KERNELS: [string, tf.KernelFunc][] = [
  [tf.Conv2D, forwardKernel],
  [tf.Conv2DBackpropInput, inputGradientKernel],
  [tf.Conv2DBackpropFilter, filterGradientKernel],
];

/** Returns the 13 numbers that `NativeKernels` reads, from tfjs's description of a convolution. */
export function nativeGeometry(info: {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padInfo: { top: number; left: number };
}): NativeGeometry {
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
}
