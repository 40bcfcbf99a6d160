import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { Rng } from '../data/rng.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { makeConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import { addLatents, emptyNodeCounts, measureNodeCounts } from './nodeCounts.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** `n` random 8×8 gray images with labels cycling through `classes`. */
function randomData(n: number, classes: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const images = Float32Array.from({ length: n * 64 }, () => rng.next());
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return { name: 'random', images, count: n, height: 8, width: 8, channels: 1, labels };
}

describe('addLatents', () => {
  it('counts each pick per row and level', () => {
    const counts = emptyNodeCounts([3, 2], 2);
    addLatents(counts, [[0, 1], [2, 1], [0, 0], [1, 1]], [0, 0, 1, 0]);
    expect(counts.counts[0]).toEqual([[1, 1, 1], [0, 3]]);
    expect(counts.counts[1]).toEqual([[1, 0, 0], [1, 0]]);
    expect(counts.images).toEqual([3, 1]);
  });

  it('puts every latent in row 0 without rows', () => {
    const counts = emptyNodeCounts([2], 1);
    addLatents(counts, [[1], [1], [0]]);
    expect(counts.counts[0]).toEqual([[1, 2]]);
    expect(counts.images).toEqual([3]);
  });

  it('rejects a node outside K and a row outside the table', () => {
    expect(() => addLatents(emptyNodeCounts([2], 1), [[2]])).toThrow(/node 2 of latent 0 at level 0 is outside \[0, 2\)/);
    expect(() => addLatents(emptyNodeCounts([2], 2), [[0]], [2])).toThrow(/row 2 of latent 0/);
  });
});

describe('measureNodeCounts', () => {
  it('equals a hand count of single-image reconstructions', () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 3, channels: 8 }), 3);
    const data = randomData(7, 1, 1);
    const before = tf.memory().numTensors;
    // Chunks of 3 do not divide 7, so the last chunk is short.
    const progress: number[] = [];
    const measured = measureNodeCounts(model, data, (done) => progress.push(done), 3);
    expect(tf.memory().numTensors).toBe(before);
    expect(progress).toEqual([3, 6, 7]);

    const expected = [0, 1, 2].map(() => [0, 0, 0, 0]);
    for (let i = 0; i < data.count; i++) {
      const { latents } = model.reconstruct(data.images.subarray(i * 64, (i + 1) * 64), 1);
      for (let level = 0; level < 3; level++) expected[level][latents[0][level]]++;
    }
    expect(measured.rows).toBe(1);
    expect(measured.images).toEqual([7]);
    expect(measured.counts[0]).toEqual(expected);
    model.dispose();
  });

  it('keeps one row per class for a class-conditional model', () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8, condition: 'class', classCount: 3 }), 2);
    const data = randomData(8, 3, 4);
    const measured = measureNodeCounts(model, data);

    const expected = [0, 1, 2].map(() => [0, 1].map(() => [0, 0, 0, 0]));
    const { latents } = model.reconstruct(data.images, 64, { labels: data.labels });
    latents.forEach((latent, i) => {
      for (let level = 0; level < 2; level++) expected[data.labels![i]][level][latent[level]]++;
    });
    expect(measured.rows).toBe(3);
    expect(measured.images).toEqual([3, 3, 2]);
    expect(measured.counts).toEqual(expected);
    model.dispose();
  });

  it('rejects data without labels or missing a class', () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8, condition: 'class', classCount: 3 }), 2);
    const unlabelled = { ...randomData(4, 3, 1), labels: undefined };
    expect(() => measureNodeCounts(model, unlabelled)).toThrow(DdnError);
    expect(() => measureNodeCounts(model, unlabelled)).toThrow(/has no labels/);
    expect(() => measureNodeCounts(model, randomData(4, 2, 1))).toThrow(/no images of class 2/);
    model.dispose();
  });
});
