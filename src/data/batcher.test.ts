import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { Batcher } from './batcher.js';
import { Rng } from './rng.js';
import type { Dataset } from './types.js';

/** Builds `count` 2x2 gray images in which every pixel of image i is i / count. */
function tinyDataset(count: number, withLabels = true): Dataset {
  const images = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) images.fill(i / count, i * 4, i * 4 + 4);
  const dataset: Dataset = { name: 'tiny', images, count, height: 2, width: 2, channels: 1 };
  if (withLabels) dataset.labels = Int32Array.from({ length: count }, (_, i) => i % 3);
  return dataset;
}

describe('Batcher', () => {
  it('visits every index once per epoch with batch 4 of 12', () => {
    const batcher = new Batcher(tinyDataset(12), 4, new Rng(5));
    for (let epoch = 0; epoch < 3; epoch++) {
      const seen = [0, 1, 2].flatMap(() => Array.from(batcher.next().indices));
      expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
      expect(batcher.completedEpochs).toBe(epoch + 1);
    }
  });

  it('fills batches across epoch boundaries with batch 4 of 10', () => {
    const batcher = new Batcher(tinyDataset(10), 4, new Rng(6));
    const stream = Array.from({ length: 5 }, () => Array.from(batcher.next().indices)).flat();
    // 20 draws are exactly two epochs of 10.
    for (const epoch of [stream.slice(0, 10), stream.slice(10, 20)]) {
      expect([...epoch].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    }
    expect(batcher.completedEpochs).toBe(2);
  });

  it('repeats the order for the same seed and changes it per epoch', () => {
    const order = (seed: number) => {
      const batcher = new Batcher(tinyDataset(50), 50, new Rng(seed));
      return [Array.from(batcher.next().indices), Array.from(batcher.next().indices)];
    };
    const [first, second] = order(9);
    expect(order(9)).toEqual([first, second]);
    expect(first).not.toEqual(second);
    expect(order(10)[0]).not.toEqual(first);
  });

  it('skip matches the same number of next calls', () => {
    const stepped = new Batcher(tinyDataset(10), 3, new Rng(4));
    for (let i = 0; i < 7; i++) stepped.next();
    const skipped = new Batcher(tinyDataset(10), 3, new Rng(4));
    skipped.skip(7);

    expect(skipped.completedEpochs).toBe(stepped.completedEpochs);
    expect(Array.from(skipped.next().indices)).toEqual(Array.from(stepped.next().indices));
    expect(() => skipped.skip(-1)).toThrow(DdnError);
  });

  it('scales images to [-1, 1] and copies labels', () => {
    const dataset = tinyDataset(4);
    const batch = new Batcher(dataset, 4, new Rng(1)).next();

    expect(batch.images.length).toBe(4 * 2 * 2 * 1);
    batch.indices.forEach((index, slot) => {
      const expected = (index / 4) * 2 - 1;
      for (let i = 0; i < 4; i++) expect(batch.images[slot * 4 + i]).toBeCloseTo(expected, 6);
      expect(batch.labels![slot]).toBe(index % 3);
    });
  });

  it('omits labels when the dataset has none', () => {
    const batch = new Batcher(tinyDataset(3, false), 2, new Rng(1)).next();
    expect(batch.labels).toBeUndefined();
    expect('labels' in batch).toBe(false);
  });

  it('rejects a bad batch size and an empty dataset', () => {
    expect(() => new Batcher(tinyDataset(3), 0, new Rng(1))).toThrow(/invalid batchSize 0/);
    expect(() => new Batcher(tinyDataset(0), 1, new Rng(1))).toThrow(DdnError);
  });
});
