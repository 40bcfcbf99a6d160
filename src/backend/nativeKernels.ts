/**
 * Registers the native convolution kernels (`native.ts`) as the wasm
 * backend's `Conv2D`, `Conv2DBackpropInput` and `Conv2DBackpropFilter`.
 * Each reads its inputs from the wasm heap and writes a fresh heap tensor,
 * with no copy. Cases they do not cover (other dtypes, NCHW, dilation, a
 * strided input gradient) go to the kernel that was registered before.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { type NativeConv, nativeGeometry } from './native.js';

const WASM = 'wasm';

/** The kernels replaced, by kernel name, to fall back on. */
const previous = new Map<string, tf.KernelFunc>();

/** The kernels registered, whether or not they are switched on. */
let registered: NativeConv | null = null;
/** The kernels that run: `registered`, or null while switched off. */
let active: NativeConv | null = null;

/** Whether the wasm backend's convolutions currently run natively. */
export function nativeConvActive(): boolean {
  return active !== null && tf.getBackend() === WASM;
}

/**
 * Puts the native kernels in front of the wasm backend's convolutions.
 * Calling it again does nothing; call it after `registerWasmConvKernels`,
 * whose kernels become the fallback.
 */
export function registerNativeConvKernels(native: NativeConv): void {
  registered = native;
  active = native;
  replace(tf.Conv2D, forwardKernel);
  replace(tf.Conv2DBackpropInput, inputGradientKernel);
  replace(tf.Conv2DBackpropFilter, filterGradientKernel);
}

/**
 * Switches the registered native kernels off (0) or on with `threads`
 * threads for calls made from this thread. Returns false when none are
 * registered, and then changes nothing.
 */
export function setNativeConvThreads(threads: number): boolean {
  if (registered === null) {
    return false;
  }
  if (threads > 0) {
    registered.setThreads(threads);
  }
  active = threads > 0 ? registered : null;
  return true;
}

function replace(kernelName: string, kernelFunc: tf.KernelFunc): void {
  const current = tf.getKernel(kernelName, WASM);
  if (current?.kernelFunc === kernelFunc) {
    return;
  }
  if (current === undefined) {
    throw new Error(`the wasm backend has no ${kernelName} kernel to fall back on`);
  }
  previous.set(kernelName, current.kernelFunc);
  // Unregister first: registering over an existing kernel prints a warning.
  tf.unregisterKernel(kernelName, WASM);
  tf.registerKernel({ ...current, kernelFunc });
}

function fallBack(kernelName: string, args: Parameters<tf.KernelFunc>[0]) {
  return previous.get(kernelName)!(args);
}

/** True when every dilation is 1. */
function undilated(dilations: [number, number] | number | undefined): boolean {
  return dilations === undefined || (Array.isArray(dilations) ? dilations.every((d) => d === 1) : dilations === 1);
}

function allFloat32(...infos: tf.TensorInfo[]): boolean {
  return infos.every((info) => info.dtype === 'float32');
}

/** `Conv2D`: x [b, H, W, inC] and filter [kh, kw, inC, outC] → [b, Ho, Wo, outC]. */
const forwardKernel: tf.KernelFunc = (args) => {
  const { x, filter } = args.inputs as Record<'x' | 'filter', tf.TensorInfo>;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs as unknown as tf.Conv2DAttrs;
  if (active === null || dataFormat === 'NCHW' || !undilated(dilations) || !allFloat32(x, filter)) {
    return fallBack(tf.Conv2D, args);
  }
  const backend = args.backend as BackendWasm;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const out = backend.makeOutput(info.outShape, 'float32');
  // Views of the heap are taken after the allocation, which may grow it.
  active.conv2dForward(heap(backend, x), heap(backend, filter), heap(backend, out), nativeGeometry(info));
  return out;
};

/** `Conv2DBackpropInput`: dy and filter → dx shaped `inputShape`; stride 1. */
const inputGradientKernel: tf.KernelFunc = (args) => {
  const { dy, filter } = args.inputs as Record<'dy' | 'filter', tf.TensorInfo>;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (active === null || dataFormat === 'NCHW' || !allFloat32(dy, filter)) {
    return fallBack(tf.Conv2DBackpropInput, args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const unitStride = info.strideHeight === 1 && info.strideWidth === 1;
  const coveredPadding = info.padInfo.top < info.filterHeight && info.padInfo.left < info.filterWidth;
  if (!unitStride || !coveredPadding) {
    return fallBack(tf.Conv2DBackpropInput, args);
  }
  const backend = args.backend as BackendWasm;
  const dx = backend.makeOutput(inputShape, 'float32');
  active.conv2dInputGradient(heap(backend, dy), heap(backend, filter), heap(backend, dx), nativeGeometry(info));
  return dx;
};

/** `Conv2DBackpropFilter`: x and dy → dw [kh, kw, inC, outC]. */
const filterGradientKernel: tf.KernelFunc = (args) => {
  const { x, dy } = args.inputs as Record<'x' | 'dy', tf.TensorInfo>;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (active === null || dataFormat === 'NCHW' || !allFloat32(x, dy)) {
    return fallBack(tf.Conv2DBackpropFilter, args);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const backend = args.backend as BackendWasm;
  const dw = backend.makeOutput(filterShape, 'float32');
  active.conv2dFilterGradient(heap(backend, x), heap(backend, dy), heap(backend, dw), nativeGeometry(info));
  return dw;
};

/** A float32 view of a tensor's bytes on the wasm heap. */
function heap(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
