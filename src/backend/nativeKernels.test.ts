import { spawnSync } from 'node:child_process';

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Adam } from '../train/adam.js';
import { foldBroadcast, nativeConvActive, setNativeThreads } from './nativeKernels.js';
import { initBackend } from './select.js';

const compilerPresent = spawnSync('cc', ['--version']).status === 0;

/** Runs `body` on cpu and on wasm (native kernels on), returning both results as arrays. */
async function onBoth(body: () => tf.Tensor): Promise<{ cpu: Float32Array; wasm: Float32Array; shape: number[] }> {
  await tf.setBackend('cpu');
  const expected = tf.tidy(body);
  const cpu = expected.dataSync() as Float32Array;
  const shape = expected.shape;
  expected.dispose();
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const actual = tf.tidy(body);
  expect(actual.shape).toEqual(shape);
  const wasm = actual.dataSync() as Float32Array;
  actual.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return { cpu, wasm, shape };
}

function expectClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let scale = 1e-12;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  expect(worst / scale).toBeLessThan(tolerance);
}

const random = (shape: number[], seed: number) => tf.randomUniform(shape, 0.5, 2, 'float32', seed);

describe('foldBroadcast', () => {
  it('folds shapes to three axes', () => {
    const out = [2, 3, 4, 5];
    expect(foldBroadcast(out, out)).toEqual({ dims: Int32Array.of(2, 12, 5), steps: Int32Array.of(60, 5, 1) });
    expect(foldBroadcast(out, [5])?.steps).toEqual(Int32Array.of(0, 0, 1));
    expect(foldBroadcast(out, [2, 3, 4, 1])?.steps).toEqual(Int32Array.of(12, 1, 0));
    expect(foldBroadcast(out, [2, 1, 1, 5])?.steps).toEqual(Int32Array.of(5, 0, 1));
    expect(foldBroadcast(out, [])?.steps).toEqual(Int32Array.of(0, 0, 0));
    expect(foldBroadcast([7, 5], [7, 1])).toEqual({ dims: Int32Array.of(1, 7, 5), steps: Int32Array.of(0, 1, 0) });
  });

  it('rejects partial middle broadcast', () => {
    expect(foldBroadcast([2, 3, 4, 5], [1, 3, 1, 5])).toBeNull();
  });
});

describe.skipIf(!compilerPresent)('native kernels on wasm against the cpu backend', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    expect(setNativeThreads(2)).toBe(true);
    expect(nativeConvActive()).toBe(true);
  });

  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  const pairs: [number[], number[]][] = [
    [[2, 3, 4, 5], [2, 3, 4, 5]],
    [[2, 3, 4, 5], [5]],
    [[2, 3, 4, 1], [2, 3, 4, 5]],
    [[2, 3, 4, 5], [2, 1, 1, 5]],
    [[2, 3, 4, 5], [3, 4, 5]],
    [[2, 3, 4, 5], []],
    [[6, 7], [6, 1]],
    [[33], [33]],
    [[2, 3, 4, 5], [1, 3, 1, 5]], // not foldable: the wasm kernel runs
  ];
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['squaredDifference', tf.squaredDifference],
  ];
  for (const [name, op] of ops) {
    it(`${name} with broadcasting, either operand order`, async () => {
      for (const [shapeA, shapeB] of pairs) {
        for (const [x, y] of [[shapeA, shapeB], [shapeB, shapeA]]) {
          const { cpu, wasm } = await onBoth(() => op(random(x, 1), random(y, 2)));
          expectClose(wasm, cpu);
        }
      }
    });
  }

  it('sums over runs of axes, with and without keepDims', async () => {
    const shape = [3, 5, 6, 7];
    for (const axis of [[0, 1, 2], [1, 2], [3], [0], [-1], [0, 1, 2, 3], [0, 2]]) {
      for (const keepDims of [false, true]) {
        const { cpu, wasm } = await onBoth(() => tf.sum(random(shape, 3), axis, keepDims));
        expectClose(wasm, cpu);
      }
    }
    // A long run: 40,000 rows into 16 columns.
    const { cpu, wasm } = await onBoth(() => tf.sum(random([40000, 16], 4), 0));
    expectClose(wasm, cpu, 1e-4);
  });

  it('takes means over runs of axes', async () => {
    for (const axis of [[1, 2], [0, 1, 2], [3], [0, 2]]) {
      for (const keepDims of [false, true]) {
        const { cpu, wasm } = await onBoth(() => tf.mean(random([3, 5, 6, 7], 10), axis, keepDims));
        expectClose(wasm, cpu);
      }
    }
  });

  it('concatenates along every axis, skipping empty inputs', async () => {
    const shapes: [number[], number[], number[]] = [[2, 3, 4, 5], [2, 3, 4, 2], [2, 3, 4, 1]];
    const { cpu, wasm, shape } = await onBoth(() => tf.concat(shapes.map((s, i) => random(s, 11 + i)), 3));
    expect(shape).toEqual([2, 3, 4, 8]);
    expectClose(wasm, cpu);
    for (const axis of [0, 1, 2]) {
      const { cpu: c, wasm: w } = await onBoth(() => tf.concat([random([2, 3, 4, 5], 20), random([2, 3, 4, 5], 21)], axis));
      expectClose(w, c);
    }
    const { cpu: c, wasm: w, shape: s } = await onBoth(() => tf.concat([random([2, 0, 3], 22), random([2, 4, 3], 23)], 1));
    expect(s).toEqual([2, 4, 3]);
    expectClose(w, c);
  });

  it('takes the sigmoid of wide and extreme values, keeping NaN', async () => {
    const { cpu, wasm } = await onBoth(() => tf.sigmoid(tf.mul(random([4, 9, 9, 7], 25), 40)));
    expectClose(wasm, cpu, 1e-6);
    const extremes = [-1000, -88.5, -87, -20, -1e-3, 0, 1e-3, 20, 87, 88.5, 1000, Infinity, -Infinity];
    const { cpu: c, wasm: w } = await onBoth(() => tf.sigmoid(tf.tensor1d(extremes)));
    for (let i = 0; i < extremes.length; i++) {
      expect(Math.abs(w[i] - c[i])).toBeLessThanOrEqual(1e-6 * Math.max(c[i], 1e-30) + 1e-37);
    }
    const nan = await onBoth(() => tf.sigmoid(tf.tensor1d([NaN, 1])));
    expect(Number.isNaN(nan.wasm[0])).toBe(true);
  });

  it('tiles along the first axis, and other tilings through the wasm kernel', async () => {
    for (const reps of [[4, 1, 1, 1], [2, 3, 1, 2]]) {
      const { cpu, wasm } = await onBoth(() => tf.tile(random([1, 3, 4, 5], 24), reps));
      expectClose(wasm, cpu);
    }
  });

  it('multiplies batches of matrices in every transpose and broadcast form', async () => {
    for (const n of [1, 5, 20]) {
      for (const transposeA of [false, true]) {
        for (const transposeB of [false, true]) {
          for (const [batchA, batchB] of [[3, 3], [1, 3], [3, 1]]) {
            const [m, k] = [7, 37];
            const a = () => random(transposeA ? [batchA, k, m] : [batchA, m, k], 5);
            const b = () => random(transposeB ? [batchB, n, k] : [batchB, k, n], 6);
            const { cpu, wasm, shape } = await onBoth(() => tf.matMul(a(), b(), transposeA, transposeB));
            expect(shape).toEqual([3, m, n]);
            expectClose(wasm, cpu);
          }
        }
      }
    }
  });

  it('steps Adam in one native call as the tfjs operations do', async () => {
    // Three steps of Adam on two weights with fixed gradients, on cpu (tfjs
    // operations) and on wasm (the native step); weights and moments compared.
    const run = () => tf.tidy(() => {
      const weights = [tf.variable(random([5, 7], 30)), tf.variable(random([33], 31))];
      const adam = new Adam(weights, { learningRate: 0.01 });
      for (let step = 0; step < 3; step++) {
        const gradients = weights.map((w, i) => tf.sub(random(w.shape, 40 + 10 * step + i), 1.2));
        adam.apply(gradients);
        tf.dispose(gradients);
      }
      const state = [...weights, ...adam.firstMoments, ...adam.secondMoments].map((t) => Array.from(t.dataSync()));
      adam.dispose();
      tf.dispose(weights);
      return state;
    });
    await tf.setBackend('cpu');
    const expected = run();
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const actual = run();
    expect(tf.memory().numTensors).toBe(before);
    actual.forEach((values, i) => expectClose(Float32Array.from(values), Float32Array.from(expected[i]), 1e-5));
    // The weights moved: the step was taken.
    expect(actual[0]).not.toEqual(Array.from(tf.tidy(() => random([5, 7], 30).dataSync())));
  });

  it('clones share memory yet outlive their source', () => {
    const source = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(source);
    source.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
  });

  it('gives the same gradients as cpu through a small network', async () => {
    const grads = () => {
      const x = random([4, 6, 6, 3], 7);
      const w = random([3, 3, 3, 8], 8);
      const scale = random([8], 9);
      const f = (input: tf.Tensor, filter: tf.Tensor) => {
        const y = tf.mul(tf.conv2d(input as tf.Tensor4D, filter as tf.Tensor4D, 2, 'same'), scale);
        const centred = tf.sub(y, tf.mean(y, [1, 2], true));
        return tf.sum(tf.squaredDifference(centred, tf.sigmoid(y)));
      };
      const [gx, gw] = tf.grads(f)([x, w]);
      return tf.concat([gx.flatten(), gw.flatten()]);
    };
    const { cpu, wasm } = await onBoth(grads);
    expectClose(wasm, cpu, 1e-4);
  });
});
