/**
 * The state that the native kernels share: which kernels are registered and
 * switched on, the wasm kernels they replaced, and the helpers every native
 * kernel uses to read the wasm heap and fall back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

// Types only: native.ts loads Node modules, and this file also reaches the browser build.
import type { NativeKernels } from './native.js';

export const WASM = 'wasm';

/** The kernels replaced, by kernel name, to fall back on. */
const previous = new Map<string, tf.KernelFunc>();

/** The kernels registered, whether or not they are switched on. */
let registered: NativeKernels | null = null;
/** The kernels that run: `registered`, or null while switched off. */
let active: NativeKernels | null = null;

/** Returns the native kernels that run now, or null while none are registered or they are off. */
export function activeNative(): NativeKernels | null {
  return active;
}

/** Records `native` as registered and switches it on. */
export function setRegistered(native: NativeKernels): void {
  registered = native;
  active = native;
}

/**
 * Switches the registered native kernels off (0) or on with `threads`
 * threads for calls made from this thread. Returns false when none are
 * registered, and then changes nothing.
 */
export function setNativeThreads(threads: number): boolean {
  if (registered === null) {
    return false;
  }
  if (threads > 0) {
    registered.setThreads(threads);
  }
  active = threads > 0 ? registered : null;
  return true;
}

/** Registers `kernelFunc` for wasm, keeping the kernel it replaces; the same function again is a no-op. */
export function replace(kernelName: string, kernelFunc: tf.KernelFunc): void {
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

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** Runs the kernel that `replace` put aside for `kernelName`. */
export function fallBack(kernelName: string, args: KernelArgs) {
  return previous.get(kernelName)!(args);
}

/** Returns whether every tensor is float32. */
export function allFloat32(...infos: tf.TensorInfo[]): boolean {
  return infos.every((info) => info.dtype === 'float32');
}

/** Returns a float32 view of a tensor's bytes on the wasm heap. */
export function heap(backend: BackendWasm, info: tf.TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}
