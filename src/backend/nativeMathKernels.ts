/**
 * Native arithmetic, reduction, product and copy kernels for the wasm
 * backend: broadcasting `Add`, `Sub`, `Multiply`, `RealDiv` and
 * `SquaredDifference`, `Sum` and `Mean` over a run of axes, `Concat`,
 * `Tile` along the first axis, `Sigmoid`, `BatchMatMul`, and an `Identity`
 * that shares memory. Float32 only; other cases fall back.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

import { activeNative, allFloat32, fallBack, heap } from './nativeRegistry.js';

/**
 * Folds an output shape to [A, B, C]: the first axis, the axes between, and
 * the last axis. Returns that and the operand's steps over the three, or null
 * when the operand broadcasts some but not all of the axes in one group.
 */
export function foldBroadcast(outShape: number[], shape: number[]): { dims: Int32Array; steps: Int32Array } | null {
  const rank = outShape.length;
  const padded = [...Array<number>(rank - shape.length).fill(1), ...shape];
  // Axis groups: [0], [1 .. rank-2], [rank-1], with fewer axes folded to size 1.
  const groups: number[][] =
    rank >= 3
      ? [[0], Array.from({ length: rank - 2 }, (_, i) => i + 1), [rank - 1]]
      : rank === 2
        ? [[], [0], [1]]
        : rank === 1
          ? [[], [], [0]]
          : [[], [], []];
  const dims = Int32Array.from(groups, (axes) => axes.reduce((size, axis) => size * outShape[axis], 1));
  const full = groups.map((axes) => {
    if (axes.length === 0) return false;
    const own = axes.map((axis) => padded[axis] === outShape[axis]);
    const ones = axes.map((axis) => padded[axis] === 1);
    if (own.every(Boolean)) return true;
    if (ones.every(Boolean)) return false;
    return null;
  });
  if (full.includes(null)) {
    return null;
  }
  const sizeC = full[2] ? dims[2] : 1;
  const sizeB = full[1] ? dims[1] : 1;
  const steps = Int32Array.of(full[0] ? sizeB * sizeC : 0, full[1] ? sizeC : 0, full[2] ? 1 : 0);
  return { dims, steps };
}

/** Codes of the native binary operations. */
const BINARY_OPS: [string, number][] = [
  [tf.Add, 0],
  [tf.Sub, 1],
  [tf.Multiply, 2],
  [tf.RealDiv, 3],
  [tf.SquaredDifference, 4],
];

function binaryKernel(kernelName: string, op: number): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as Record<'a' | 'b', tf.TensorInfo>;
    const active = activeNative();
    if (active === null || !allFloat32(a, b)) {
      return fallBack(kernelName, args);
    }
    const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const foldA = foldBroadcast(outShape, a.shape);
    const foldB = foldBroadcast(outShape, b.shape);
    if (foldA === null || foldB === null || tf.util.sizeFromShape(outShape) === 0) {
      return fallBack(kernelName, args);
    }
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(outShape, 'float32');
    active.binary(op, heap(backend, a), foldA.steps, heap(backend, b), foldB.steps, heap(backend, out), foldA.dims);
    return out;
  };
}

const BINARY_KERNELS: [string, tf.KernelFunc][] = BINARY_OPS.map(([name, op]) => [name, binaryKernel(name, op)]);

/** `Sum` or `Mean` of float32 over one contiguous run of axes. */
function reductionKernel(kernelName: typeof tf.Sum | typeof tf.Mean): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as Record<'x', tf.TensorInfo>;
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    const active = activeNative();
    if (active === null || x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) {
      return fallBack(kernelName, args);
    }
    const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((p, q) => p - q);
    const first = axes[0];
    const last = axes[axes.length - 1];
    if (axes.length === 0 || last - first + 1 !== axes.length) {
      return fallBack(kernelName, args);
    }
    const product = (from: number, to: number) => x.shape.slice(from, to).reduce((size, n) => size * n, 1);
    const dims = Int32Array.of(product(0, first), product(first, last + 1), product(last + 1, x.shape.length));
    const outShape = keepDims
      ? x.shape.map((n, i) => (i >= first && i <= last ? 1 : n))
      : x.shape.filter((_, i) => i < first || i > last);
    const backend = args.backend as BackendWasm;
    const out = backend.makeOutput(outShape, 'float32');
    active.sum(heap(backend, x), heap(backend, out), dims, kernelName === tf.Mean ? 1 / dims[1] : 1);
    return out;
  };
}

// Made once: registering again must find the same functions (see `replace`).
const sumKernel = reductionKernel(tf.Sum);
const meanKernel = reductionKernel(tf.Mean);

/** `Concat` of float32 tensors along any axis: rows of each input, side by side. */
const concatKernel: tf.KernelFunc = (args) => {
  const inputs = args.inputs as unknown as tf.TensorInfo[];
  const { axis } = args.attrs as unknown as tf.ConcatAttrs;
  const shapes = inputs.map((t) => t.shape);
  const active = activeNative();
  if (active === null || inputs.length < 1 || inputs.length > 64 || !allFloat32(...inputs)) {
    return fallBack(tf.Concat, args);
  }
  const $axis = tf.util.parseAxisParam(axis, shapes[0])[0];
  const outShape = tf.backend_util.computeOutShape(shapes, $axis);
  const outer = shapes[0].slice(0, $axis).reduce((size, n) => size * n, 1);
  const parts = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
  if (outer === 0 || parts.length === 0) {
    return fallBack(tf.Concat, args);
  }
  const widths = Int32Array.from(parts, (t) => tf.util.sizeFromShape(t.shape) / outer);
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(outShape, 'float32');
  active.concat(heap(backend, out), parts.map((t) => heap(backend, t)), widths, outer);
  return out;
};

/** `Sigmoid` of float32. */
const sigmoidKernel: tf.KernelFunc = (args) => {
  const { x } = args.inputs as Record<'x', tf.TensorInfo>;
  const active = activeNative();
  if (active === null || x.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) {
    return fallBack(tf.Sigmoid, args);
  }
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput(x.shape, 'float32');
  active.sigmoid(heap(backend, x), heap(backend, out));
  return out;
};

/** `Tile` that repeats a float32 tensor along its first axis only: whole copies, one after another. */
const tileKernel: tf.KernelFunc = (args) => {
  const { x } = args.inputs as Record<'x', tf.TensorInfo>;
  const { reps } = args.attrs as unknown as tf.TileAttrs;
  const leadingOnly = reps.length === x.shape.length && reps.slice(1).every((r) => r === 1) && x.shape[0] === 1;
  const active = activeNative();
  if (active === null || x.dtype !== 'float32' || !leadingOnly || tf.util.sizeFromShape(x.shape) === 0) {
    return fallBack(tf.Tile, args);
  }
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput([reps[0], ...x.shape.slice(1)], 'float32');
  const source = heap(backend, x);
  const target = heap(backend, out);
  for (let i = 0; i < reps[0]; i++) {
    target.set(source, i * source.length);
  }
  return out;
};

/** `BatchMatMul` of rank-3 float32 tensors whose batch sizes are equal or 1. */
const matMulKernel: tf.KernelFunc = (args) => {
  const { a, b } = args.inputs as Record<'a' | 'b', tf.TensorInfo>;
  const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
  const active = activeNative();
  if (active === null || !allFloat32(a, b) || a.shape.length !== 3 || b.shape.length !== 3) {
    return fallBack(tf.BatchMatMul, args);
  }
  const [batchA, rowsA, colsA] = a.shape;
  const [batchB, rowsB, colsB] = b.shape;
  const batch = Math.max(batchA, batchB);
  const [m, k] = transposeA ? [colsA, rowsA] : [rowsA, colsA];
  const [kB, n] = transposeB ? [colsB, rowsB] : [rowsB, colsB];
  const batchesFit = (batchA === batch || batchA === 1) && (batchB === batch || batchB === 1);
  if (k !== kB || !batchesFit || batch * m * n * k === 0) {
    return fallBack(tf.BatchMatMul, args);
  }
  const backend = args.backend as BackendWasm;
  const out = backend.makeOutput([batch, m, n], 'float32');
  const shape = Int32Array.of(batch, batchA, batchB, m, k, n, transposeA ? 1 : 0, transposeB ? 1 : 0);
  active.matmul(heap(backend, a), heap(backend, b), heap(backend, out), shape);
  return out;
};

/**
 * `Identity` that shares the input's memory, as the cpu and webgl backends
 * do: tensors are never written in place, so the copy that wasm's own kernel
 * makes buys nothing.
 */
const identityKernel: tf.KernelFunc = (args) => {
  const { x } = args.inputs as Record<'x', tf.TensorInfo>;
  const active = activeNative();
  if (active === null || x.dtype === 'string') {
    return fallBack(tf.Identity, args);
  }
  (args.backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** The kernels of this file, by kernel name. */
export const MATH_KERNELS: [string, tf.KernelFunc][] = [
  ...BINARY_KERNELS,
  [tf.Sum, sumKernel],
  [tf.Mean, meanKernel],
  [tf.Concat, concatKernel],
  [tf.Tile, tileKernel],
  [tf.Sigmoid, sigmoidKernel],
  [tf.BatchMatMul, matMulKernel],
  [tf.Identity, identityKernel],
];
