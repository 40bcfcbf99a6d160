/**
 * Times one 3×3 convolution layer, forward and both gradients, on the wasm
 * backend (the project's forward-convolution gradients, and wasm's own
 * Conv2DBackpropInput) and on the cpu backend (the same gradients, and its built-in kernels).
 *
 * Run: npx --yes tsx bench/conv-micro.ts [batch] [size] [channels] [--skip-cpu]
 * Default shape: batch 64, 32×32, 32 → 32 channels, 'same', strides 1 and 2.
 * The cpu backend runs stride 1 only, once each, because its built-in
 * filter gradient alone took minutes at the default shape.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

import { conv2d } from '../src/backend/conv.js';
import {
  conv2dFilterGradient,
  conv2dInputGradient,
} from '../src/backend/convBackprop.js';
import { registerAllGradients } from '../src/backend/gradients.js';
import { initBackend } from '../src/backend/select.js';
import { registerWasmConvKernels } from '../src/backend/wasmKernels.js';

const skipCpu = process.argv.includes('--skip-cpu');
const sizes = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const batchSize = Number(sizes[0] ?? 64);
const size = Number(sizes[1] ?? 32);
const channels = Number(sizes[2] ?? 32);
const kernelSize = 3;

/**
 * Returns the median wall time in ms of `repeats` runs, after one warm-up
 * run when `repeats` is above 1.
 */
function timeMs(repeats: number, body: () => tf.Tensor | tf.Tensor[]): number {
  const run = (): number => {
    const start = performance.now();
    tf.tidy(() => {
      const out = body();
      for (const t of Array.isArray(out) ? out : [out]) {
        t.dataSync();
      }
    });
    return performance.now() - start;
  };
  if (repeats > 1) {
    run();
  }
  const times = Array.from({ length: repeats }, run).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Runs the backend's own Conv2DBackpropFilter kernel, which tfjs-core does not export as an op. */
function backpropFilter(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  strides: 1 | 2,
): tf.Tensor4D {
  return tf.engine().runKernel(
    tf.Conv2DBackpropFilter,
    { x, dy },
    { strides, pad: 'same', dataFormat: 'NHWC', filterShape },
  ) as tf.Tensor4D;
}

function report(backend: string, label: string, ms: number): void {
  console.log(`${backend.padEnd(5)} ${label.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms`);
}

function benchStride(strides: 1 | 2, repeats: number, backendName: string): void {
  const x = tf.randomNormal([batchSize, size, size, channels]) as tf.Tensor4D;
  const filter = tf.randomNormal([kernelSize, kernelSize, channels, channels]) as tf.Tensor4D;
  const y = tf.conv2d(x, filter, strides, 'same'); // [batch, Ho, Wo, outC]
  const dy = tf.randomNormal(y.shape) as tf.Tensor4D;
  const geometry = tf.backend_util.computeConv2DInfo(
    x.shape, filter.shape, strides, 1, 'same',
  );
  const tag = `stride ${strides}`;

  report(backendName, `${tag} forward tf.conv2d`, timeMs(repeats, () => tf.conv2d(x, filter, strides, 'same')));
  report(backendName, `${tag} filter gradient, forward-conv recipe`, timeMs(repeats, () => conv2dFilterGradient(x, dy, geometry)));
  report(backendName, `${tag} input gradient, forward-conv recipe`, timeMs(repeats, () => conv2dInputGradient(dy, filter, geometry)));
  if (backendName === 'cpu') {
    report(backendName, `${tag} filter gradient, built-in kernel`, timeMs(repeats, () => backpropFilter(x, dy, filter.shape, strides)));
  }
  report(backendName, `${tag} input gradient, ${backendName === 'wasm' ? 'registered' : 'built-in'} kernel`, timeMs(repeats, () => tf.conv2dTranspose(dy, filter, x.shape, strides, 'same')));

  const loss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
    tf.sum(tf.mul(conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, 'same'), dy));
  report(backendName, `${tag} forward + both gradients, project conv2d`, timeMs(repeats, () => tf.grads(loss)([x, filter])));
  if (backendName === 'wasm') {
    const builtinLoss = (a: tf.Tensor, b: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, strides, 'same'), dy));
    report(backendName, `${tag} forward + both gradients, tf.conv2d`, timeMs(repeats, () => tf.grads(builtinLoss)([x, filter])));
  }

  tf.dispose([x, filter, y, dy]);
}

async function main(): Promise<void> {
  console.log(
    `conv-micro: batch ${batchSize}, ${size}x${size}, ${channels}->${channels} channels, ` +
      `${kernelSize}x${kernelSize}, 'same'; node ${process.version}; median ms`,
  );
  await registerAllGradients();

  // wasm's own Conv2DBackpropInput, timed before the project replaces it.
  await tf.setBackend('wasm');
  for (const strides of [1, 2] as const) {
    const x = tf.randomNormal([batchSize, size, size, channels]) as tf.Tensor4D;
    const filter = tf.randomNormal([kernelSize, kernelSize, channels, channels]) as tf.Tensor4D;
    const dy = tf.randomNormal(tf.conv2d(x, filter, strides, 'same').shape) as tf.Tensor4D;
    report('wasm', `stride ${strides} input gradient, wasm 4.22 own kernel`, timeMs(5, () => tf.conv2dTranspose(dy, filter, x.shape, strides, 'same')));
    tf.dispose([x, filter, dy]);
  }

  const info = await initBackend('wasm');
  registerWasmConvKernels();
  const wasmModule = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm;
  const heapBefore = wasmModule.HEAPU8.length;
  benchStride(1, 10, info.name);
  benchStride(2, 10, info.name);
  const heapAfter = wasmModule.HEAPU8.length;
  console.log(`wasm  heap ${(heapBefore / 2 ** 20).toFixed(0)} MiB before, ${(heapAfter / 2 ** 20).toFixed(0)} MiB after`);

  if (!skipCpu) {
    await initBackend('cpu');
    benchStride(1, 1, 'cpu');
  }
}

await main();
