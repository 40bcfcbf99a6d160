import { spawnSync } from 'node:child_process';

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { conv2d } from './conv.js';
import { nativeConvActive, setNativeThreads } from './nativeKernels.js';
import { initBackend } from './select.js';

/** Maximum error allowed, relative to the maximum magnitude in the reference. */
const RELATIVE_TOLERANCE = 1e-4;

interface ConvCase {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  strides: 1 | 2;
  pad: 'same' | 'valid';
}

interface ConvResult {
  output: Float32Array;
  inputGradient: Float32Array;
  filterGradient: Float32Array;
}

/** Input, filter and output-gradient weights for one case, as plain arrays. */
interface ConvData {
  input: Float32Array;
  filter: Float32Array;
  outputWeights: Float32Array;
  outputShape: [number, number, number, number];
}

type ConvFunction = (
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: 1 | 2,
  pad: 'same' | 'valid',
) => tf.Tensor4D;

const cases: ConvCase[] = [];
for (const kernel of [1, 2, 3]) {
  for (const strides of [1, 2] as const) {
    for (const pad of ['same', 'valid'] as const) {
      for (const [height, width] of [
        [8, 8],
        [7, 7],
        [6, 9],
        [5, 4],
      ]) {
        cases.push({
          batch: 1,
          height: height!,
          width: width!,
          inChannels: 3,
          outChannels: 4,
          kernel,
          strides,
          pad,
        });
      }
    }
  }
}
// Larger channel counts and a batch above one, as the model layers use.
cases.push(
  { batch: 3, height: 9, width: 10, inChannels: 8, outChannels: 5, kernel: 3, strides: 2, pad: 'same' },
  { batch: 2, height: 16, width: 16, inChannels: 16, outChannels: 16, kernel: 3, strides: 1, pad: 'same' },
  { batch: 2, height: 11, width: 12, inChannels: 4, outChannels: 6, kernel: 3, strides: 2, pad: 'valid' },
  // Channel counts around the native kernels' 16-lane blocks, and widths
  // that need every block size of 8, 4, 2 and 1 pixels.
  { batch: 2, height: 9, width: 15, inChannels: 20, outChannels: 35, kernel: 3, strides: 1, pad: 'same' },
  { batch: 3, height: 8, width: 8, inChannels: 33, outChannels: 48, kernel: 3, strides: 2, pad: 'same' },
  { batch: 1, height: 5, width: 5, inChannels: 17, outChannels: 1, kernel: 1, strides: 1, pad: 'same' },
  { batch: 2, height: 6, width: 7, inChannels: 64, outChannels: 16, kernel: 3, strides: 1, pad: 'valid' },
);

function caseTitle(c: ConvCase): string {
  return (
    `[${c.batch}, ${c.height}, ${c.width}, ${c.inChannels}] * ` +
    `${c.kernel}x${c.kernel}x${c.outChannels} stride ${c.strides} ${c.pad}`
  );
}

function makeData(c: ConvCase, seed: number): ConvData {
  return tf.tidy(() => {
    const input = tf.randomNormal(
      [c.batch, c.height, c.width, c.inChannels], 0, 1, 'float32', seed,
    );
    const filter = tf.randomNormal(
      [c.kernel, c.kernel, c.inChannels, c.outChannels], 0, 1, 'float32', seed + 1,
    );
    const outputShape = tf.conv2d(
      input as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad,
    ).shape;
    const outputWeights = tf.randomNormal(outputShape, 0, 1, 'float32', seed + 2);
    return {
      input: input.dataSync() as Float32Array,
      filter: filter.dataSync() as Float32Array,
      outputWeights: outputWeights.dataSync() as Float32Array,
      outputShape,
    };
  });
}

/**
 * Runs the forward pass and both gradients of `sum(conv(x, f) * w)` on the
 * current backend, so the output gradient is the random `w`.
 */
function runConv(convolve: ConvFunction, c: ConvCase, data: ConvData): ConvResult {
  return tf.tidy(() => {
    const input = tf.tensor4d(data.input, [c.batch, c.height, c.width, c.inChannels]);
    const filter = tf.tensor4d(
      data.filter, [c.kernel, c.kernel, c.inChannels, c.outChannels],
    );
    const outputWeights = tf.tensor4d(data.outputWeights, data.outputShape);
    const loss = (x: tf.Tensor, f: tf.Tensor): tf.Scalar =>
      tf.sum(tf.mul(convolve(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad), outputWeights));
    const [inputGradient, filterGradient] = tf.grads(loss)([input, filter]);
    return {
      output: convolve(input, filter, c.strides, c.pad).dataSync() as Float32Array,
      inputGradient: inputGradient!.dataSync() as Float32Array,
      filterGradient: filterGradient!.dataSync() as Float32Array,
    };
  });
}

/** Returns max |actual - expected| divided by max |expected|. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let maxDifference = 0;
  let maxMagnitude = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDifference = Math.max(maxDifference, Math.abs(actual[i]! - expected[i]!));
    maxMagnitude = Math.max(maxMagnitude, Math.abs(expected[i]!));
  }
  return maxDifference / Math.max(maxMagnitude, 1e-12);
}

function expectClose(actual: ConvResult, expected: ConvResult): void {
  expect(relativeError(actual.output, expected.output)).toBeLessThan(RELATIVE_TOLERANCE);
  expect(relativeError(actual.inputGradient, expected.inputGradient)).toBeLessThan(
    RELATIVE_TOLERANCE,
  );
  expect(relativeError(actual.filterGradient, expected.filterGradient)).toBeLessThan(
    RELATIVE_TOLERANCE,
  );
}

/** Runs `body` on the cpu backend, then returns to wasm. */
async function onCpu<T>(body: () => T): Promise<T> {
  await tf.setBackend('cpu');
  try {
    return body();
  } finally {
    await tf.setBackend('wasm');
  }
}

/**
 * Whether a C compiler is on this machine, in which case the install step
 * must have built the native kernels.
 */
const compilerPresent = spawnSync('cc', ['--version']).status === 0;

// On wasm, the convolutions run on the native kernels (native/conv.c) when
// they were built, and on tfjs-backend-wasm's kernels with the project's
// gradient recipes when they are switched off. Both must match cpu.
const modes = [
  { name: 'native kernels', nativeThreads: 2 },
  { name: 'native kernels, 1 thread', nativeThreads: 1 },
  { name: 'wasm kernels', nativeThreads: 0 },
];

for (const mode of modes) {
  describe(`conv2d on wasm (${mode.name}) against cpu tf.conv2d gradients`, () => {
    const references = new Map<ConvCase, { data: ConvData; result: ConvResult }>();

    beforeAll(async () => {
      const info = await initBackend('wasm');
      expect(info.name).toBe('wasm');
      const registered = setNativeThreads(mode.nativeThreads);
      if (compilerPresent) {
        expect(registered, 'a C compiler is present, so npm install must have built native/build').toBe(true);
      }
      if (registered) {
        expect(nativeConvActive()).toBe(mode.nativeThreads > 0);
      }

      // Compute every cpu reference once, before the wasm tests run.
      await onCpu(() => {
        cases.forEach((c, index) => {
          const data = makeData(c, 1000 + 10 * index);
          references.set(c, { data, result: runConv(tf.conv2d, c, data) });
        });
      });
    });

    for (const c of cases) {
      it(`project conv2d ${caseTitle(c)}`, () => {
        expect(tf.getBackend()).toBe('wasm');
        const { data, result } = references.get(c)!;
        const before = tf.memory().numTensors;

        const actual = runConv(conv2d, c, data);

        expect(tf.memory().numTensors).toBe(before);
        expectClose(actual, result);
      });

      it(`wasm kernels for tf.conv2d ${caseTitle(c)}`, () => {
        const { data, result } = references.get(c)!;
        const before = tf.memory().numTensors;

        const actual = runConv(tf.conv2d, c, data);

        expect(tf.memory().numTensors).toBe(before);
        expectClose(actual, result);
      });
    }

    it('wasm conv2dTranspose matches cpu', async () => {
      // conv2dTranspose runs the Conv2DBackpropInput kernel forward.
      const inputShape: [number, number, number, number] = [2, 5, 6, 4];
      const filterShape: [number, number, number, number] = [3, 3, 3, 4];
      const outputShape: [number, number, number, number] = [2, 10, 12, 3];
      const [input, filter, expected] = await onCpu(() =>
        tf.tidy(() => {
          const x = tf.randomNormal(inputShape, 0, 1, 'float32', 7);
          const f = tf.randomNormal(filterShape, 0, 1, 'float32', 8);
          const y = tf.conv2dTranspose(x as tf.Tensor4D, f as tf.Tensor4D, outputShape, 2, 'same');
          return [x.dataSync(), f.dataSync(), y.dataSync()] as Float32Array[];
        }),
      );
      const before = tf.memory().numTensors;

      const actual = tf.tidy(() => {
        const x = tf.tensor4d(input!, inputShape);
        const f = tf.tensor4d(filter!, filterShape);
        return tf.conv2dTranspose(x, f, outputShape, 2, 'same').dataSync() as Float32Array;
      });

      expect(tf.memory().numTensors).toBe(before);
      expect(relativeError(actual, expected!)).toBeLessThan(RELATIVE_TOLERANCE);
    });

    afterAll(() => {
      setNativeThreads(2);
    });

    it('conv2d rejects a channel mismatch', () => {
      const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
      const f = tf.zeros([3, 3, 2, 4]) as tf.Tensor4D;
      expect(() => conv2d(x, f, 1, 'same')).toThrow(/input channels 3/);
      tf.dispose([x, f]);
    });
  });
}
