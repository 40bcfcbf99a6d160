import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../backend/select.js';
import { loadDataset } from '../data/load.js';
import { Rng } from '../data/rng.js';
import type { Dataset } from '../data/types.js';
import { loadModel, saveModel } from '../io/modelDir.js';
import { makeConfig } from '../model/config.js';
import { TrainingRun } from './run.js';

let dataset: Dataset;
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddn-run-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  await initBackend('wasm');
  dataset = await loadDataset('mnist', { split: 'train', imageSize: 8, limit: 64 });
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const config = makeConfig({ imageSize: 8, k: 8, levels: 4, channels: 8 });
const options = { batchSize: 8, learningRate: 2e-3, seed: 11 };

describe('TrainingRun', () => {
  it('resumes with the same losses as an uninterrupted run', async () => {
    const straight = TrainingRun.create(config, dataset, options);
    const expected = Array.from({ length: 6 }, () => straight.trainOneStep().loss);
    straight.dispose();

    const dir = tempDir();
    const first = TrainingRun.create(config, dataset, options);
    const before = Array.from({ length: 3 }, () => first.trainOneStep().loss);
    await first.saveCheckpoint(dir, 1);
    first.dispose();
    const resumed = await TrainingRun.resume(dir, dataset);
    expect(resumed.step).toBe(3);
    const after = Array.from({ length: 3 }, () => resumed.trainOneStep().loss);
    resumed.dispose();

    expect(before).toEqual(expected.slice(0, 3));
    expect(after).toEqual(expected.slice(3));
  });

  it('rejects resuming on other data', async () => {
    const dir = tempDir();
    const run = TrainingRun.create(config, dataset, options);
    run.trainOneStep();
    await run.saveCheckpoint(dir, 1);
    run.dispose();
    const other = { ...dataset, name: 'other', count: 10 };
    await expect(TrainingRun.resume(dir, other)).rejects.toThrow(/cannot resume/);
  });
});

describe('model folder', () => {
  it('saves and loads to bit-identical samples', async () => {
    const run = TrainingRun.create(config, dataset, options);
    for (let i = 0; i < 3; i++) run.trainOneStep();
    const dir = tempDir();
    await saveModel(run.model, dir);
    const { model } = await loadModel(dir);
    const a = run.model.sample(5, new Rng(3));
    const b = model.sample(5, new Rng(3));
    expect(Array.from(b.images)).toEqual(Array.from(a.images));
    expect(b.latents.map((l) => Array.from(l))).toEqual(a.latents.map((l) => Array.from(l)));
    const before = tf.memory().numTensors;
    model.reconstruct(dataset.images.subarray(0, 2 * 64));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    run.dispose();
  });
});
