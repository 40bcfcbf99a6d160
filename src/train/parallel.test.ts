import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../backend/select.js';
import { makeConfig, type Paradigm } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import { Adam } from './adam.js';
import { ParallelTrainer } from './parallel.js';
import { makeSplitPrunes, trainStep } from './step.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** Returns a small deterministic uniform source for the tests. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    },
  };
}

/** Smooth random-looking images in [−0.9, 0.9], [batch, size, size, 1]. */
function images(batch: number, size: number, seed: number): Float32Array {
  const rng = lcg(seed);
  const phases = Array.from({ length: batch }, () => [rng.next() * 6, rng.next() * 6]);
  const out = new Float32Array(batch * size * size);
  for (let b = 0; b < batch; b++) {
    for (let p = 0; p < size * size; p++) {
      const x = p % size;
      const y = Math.floor(p / size);
      out[b * size * size + p] = 0.9 * Math.sin(x * 0.7 + phases[b][0]) * Math.cos(y * 0.5 + phases[b][1]);
    }
  }
  return out;
}

function weightsOf(model: DdnModel): Float32Array[] {
  return model.params.list().map((v) => v.dataSync() as Float32Array);
}

function maxAbsDifference(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((values, i) => {
    for (let j = 0; j < values.length; j++) worst = Math.max(worst, Math.abs(values[j] - b[i][j]));
  });
  return worst;
}

const trainers: ParallelTrainer[] = [];
afterAll(async () => {
  await Promise.all(trainers.map((t) => t.close()));
});

describe('ParallelTrainer', () => {
  // Columns: paradigm, workers, batch, most images per pass (0: no limit).
  const cases: [Paradigm, number, number, number][] = [
    ['recurrence', 2, 6, 0],
    ['single-shot', 2, 7, 0],
    ['single-shot', 1, 4, 0],
    ['recurrence', 2, 7, 2],
  ];

  it.each(cases)('%s model, %i workers, batch %i, chunk %i: same steps as one process', async (paradigm, workers, batch, chunk) => {
    const maxChunk = chunk === 0 ? undefined : chunk;
    // Chain dropout at 0.5 so that both ways of picking occur within three steps.
    const config = makeConfig({ paradigm, imageSize: 8, k: 8, levels: 4, channels: 8, chainDropout: 0.5 });
    const single = new DdnModel(config, 3);
    const parallel = new DdnModel(config, 3);
    // A large epsilon keeps Adam's first steps proportional to the gradient,
    // so that float rounding in near-zero gradients cannot flip a weight's step.
    const adamOptions = { learningRate: 1e-3, epsilon: 1e-3 };
    const singleOptimizer = new Adam(single.params.list(), adamOptions);
    const parallelOptimizer = new Adam(parallel.params.list(), adamOptions);
    const singleCounters = makeSplitPrunes(single);
    const parallelCounters = makeSplitPrunes(parallel);
    const singleRng = lcg(11);
    const parallelRng = lcg(11);
    const trainer = await ParallelTrainer.create(parallel, { workers, maxChunk });
    trainers.push(trainer);
    expect(trainer.workerCount).toBe(workers);

    for (let step = 0; step < 3; step++) {
      const batchImages = images(batch, 8, 100 + step);
      const expected = trainStep(single, singleOptimizer, singleCounters, batchImages, singleRng);
      const actual = await trainer.step(parallelOptimizer, parallelCounters, batchImages, parallelRng);

      expect(actual.loss).toBeCloseTo(expected.loss, 5);
      actual.levelLosses.forEach((l, level) => expect(l).toBeCloseTo(expected.levelLosses[level], 5));
      expect(actual.splits).toEqual(expected.splits);
      expect(maxAbsDifference(weightsOf(parallel), weightsOf(single))).toBeLessThan(1e-5);
      // Both ways consumed the same random numbers.
      expect(parallelRng.next()).toBe(singleRng.next());
    }
    const singleTotals = singleCounters.map((c) => c.total);
    expect(parallelCounters.map((c) => c.total)).toEqual(singleTotals);

    for (const o of [singleOptimizer, parallelOptimizer]) o.dispose();
    single.dispose();
    parallel.dispose();
  });

  it.each(['single-shot', 'recurrence'] as const)('%s model: sample equals model.sample', async (paradigm) => {
    const config = makeConfig({ paradigm, imageSize: 8, k: 8, levels: 3, channels: 8 });
    const model = new DdnModel(config, 4);
    const trainer = await ParallelTrainer.create(model, { workers: 2 });
    trainers.push(trainer);
    const expected = model.sample(5, lcg(21), 2);
    const actual = await trainer.sample(5, lcg(21), 2);
    expect(actual.latents).toEqual(expected.latents);
    expect(actual.images.length).toBe(expected.images.length);
    expect(maxAbsDifference([actual.images], [expected.images])).toBeLessThan(1e-5);
    model.dispose();
  });

  it('rejects a chunk size below 1', async () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8 }), 0);
    await expect(ParallelTrainer.create(model, { workers: 1, maxChunk: 0 })).rejects.toThrow(/invalid chunk size 0/);
    model.dispose();
  });

  it('rejects a worker count below 1', async () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8 }), 0);
    await expect(ParallelTrainer.create(model, { workers: 0 })).rejects.toThrow(/invalid worker count 0/);
    model.dispose();
  });

  it('leaves no tensors behind on the main thread', async () => {
    const config = makeConfig({ paradigm: 'recurrence', imageSize: 8, k: 4, levels: 2, channels: 8 });
    const model = new DdnModel(config, 1);
    const optimizer = new Adam(model.params.list(), { learningRate: 1e-3 });
    const trainer = await ParallelTrainer.create(model, { workers: 2 });
    trainers.push(trainer);
    const before = tf.memory().numTensors;
    await trainer.step(optimizer, makeSplitPrunes(model), images(4, 8, 5), lcg(2));
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    model.dispose();
  });
});
