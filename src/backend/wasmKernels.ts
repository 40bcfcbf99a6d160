/**
 * Convolution gradient kernels for the wasm backend, so that the built-in
 * gradient of plain `tf.conv2d` (and `tf.conv2dTranspose`) also runs there.
 *
 * tfjs-backend-wasm 4.22 registers no `Conv2DBackpropFilter` kernel, and its
 * `Conv2DBackpropInput` kernel is several times slower than a forward
 * convolution. The kernels below run tf ops from inside the kernel function:
 * the engine does not record them on the gradient tape (they run at kernel
 * depth 1) and accepts the returned `Tensor` as the kernel output.
 */
import * as tf from '@tensorflow/tfjs-core';

import { conv2dFilterGradient, conv2dInputGradient } from './convBackprop.js';

const WASM = 'wasm';

/**
 * Registers `Conv2DBackpropFilter` and replaces `Conv2DBackpropInput` for
 * the wasm backend. Calling it again does nothing.
 */
export function registerWasmConvKernels(): void {
  const filterKernel = tf.getKernel(tf.Conv2DBackpropFilter, WASM);
  if (filterKernel?.kernelFunc !== backpropFilterKernel) {
    if (filterKernel !== undefined) {
      tf.unregisterKernel(tf.Conv2DBackpropFilter, WASM);
    }
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropFilter,
      backendName: WASM,
      kernelFunc: backpropFilterKernel,
    });
  }

  // Unregister first: registering over an existing kernel prints a warning.
  const inputKernel = tf.getKernel(tf.Conv2DBackpropInput, WASM);
  if (inputKernel?.kernelFunc !== backpropInputKernel) {
    if (inputKernel !== undefined) {
      tf.unregisterKernel(tf.Conv2DBackpropInput, WASM);
    }
    tf.registerKernel({
      kernelName: tf.Conv2DBackpropInput,
      backendName: WASM,
      kernelFunc: backpropInputKernel,
    });
  }
}

/** Kernel for `Conv2DBackpropFilter`: inputs `x` and `dy`, output `[kh, kw, inC, outC]`. */
const backpropFilterKernel: tf.KernelFunc = ({ inputs, attrs }) => {
  const { x, dy } = inputs as tf.Conv2DBackpropFilterInputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;

  return tf.tidy(() => {
    const channelsFirst = dataFormat === 'NCHW';
    let input = asTensor4D(x, 'x', tf.Conv2DBackpropFilter);
    let gradient = asTensor4D(dy, 'dy', tf.Conv2DBackpropFilter);
    const geometry = tf.backend_util.computeConv2DInfo(
      input.shape,
      filterShape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      tf.backend_util.convertConv2DDataFormat(dataFormat),
    );
    if (channelsFirst) {
      input = tf.transpose(input, [0, 2, 3, 1]); // [batch, H, W, inC]
      gradient = tf.transpose(gradient, [0, 2, 3, 1]); // [batch, Ho, Wo, outC]
    }
    return conv2dFilterGradient(input, gradient, geometry); // [kh, kw, inC, outC]
  });
};

/** Kernel for `Conv2DBackpropInput`: inputs `dy` and `filter`, output shaped `inputShape`. */
const backpropInputKernel: tf.KernelFunc = ({ inputs, attrs }) => {
  const { dy, filter } = inputs as tf.Conv2DBackpropInputInputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;

  return tf.tidy(() => {
    const channelsFirst = dataFormat === 'NCHW';
    const kernel = asTensor4D(filter, 'filter', tf.Conv2DBackpropInput);
    let gradient = asTensor4D(dy, 'dy', tf.Conv2DBackpropInput);
    const geometry = tf.backend_util.computeConv2DInfo(
      inputShape,
      kernel.shape,
      strides,
      1,
      pad,
      dimRoundingMode,
      false,
      tf.backend_util.convertConv2DDataFormat(dataFormat),
    );
    if (channelsFirst) {
      gradient = tf.transpose(gradient, [0, 2, 3, 1]); // [batch, Ho, Wo, outC]
    }
    const dx = conv2dInputGradient(gradient, kernel, geometry); // [batch, H, W, inC]
    return channelsFirst ? tf.transpose(dx, [0, 3, 1, 2]) : dx; // inputShape
  });
};

/**
 * Returns a kernel input as a rank-4 tensor. Ops pass `Tensor`s; a bare
 * `TensorInfo` gets a new tensor on the same data, which the caller's
 * `tidy` disposes.
 */
function asTensor4D(
  info: tf.TensorInfo | undefined,
  inputName: string,
  kernelName: string,
): tf.Tensor4D {
  if (info === undefined) {
    throw new Error(`${kernelName}: input '${inputName}' is missing`);
  }
  if (info instanceof tf.Tensor) {
    return info as tf.Tensor4D;
  }
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor4D;
}
