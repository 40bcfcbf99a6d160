/**
 * Registers the native kernels (`native.ts`) in front of the wasm backend's
 * own: the convolutions (`nativeConvKernels.ts`) and the arithmetic,
 * reductions, products and copies (`nativeMathKernels.ts`). Each reads its
 * inputs from the wasm heap and writes a fresh heap tensor, with no copy.
 * Cases they do not cover go to the kernel that was registered before.
 */
import * as tf from '@tensorflow/tfjs-core';

// Types only: native.ts loads Node modules, and this file also reaches the browser build.
import type { NativeKernels } from './native.js';
import { CONV_KERNELS } from './nativeConvKernels.js';
import { MATH_KERNELS } from './nativeMathKernels.js';
import { WASM, activeNative, replace, setRegistered } from './nativeRegistry.js';

export { setNativeThreads } from './nativeRegistry.js';
export { nativeGeometry } from './nativeConvKernels.js';
export { foldBroadcast } from './nativeMathKernels.js';

/** Returns whether the native kernels currently run for the wasm backend. */
export function nativeConvActive(): boolean {
  return activeNative() !== null && tf.getBackend() === WASM;
}

/**
 * Puts the native kernels in front of the wasm backend's. Calling it again
 * does nothing; call it after `registerWasmConvKernels`, whose kernels
 * become the fallback.
 */
export function registerNativeKernels(native: NativeKernels): void {
  setRegistered(native);
  for (const [name, kernel] of [...CONV_KERNELS, ...MATH_KERNELS]) {
    replace(name, kernel);
  }
}
