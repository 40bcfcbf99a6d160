import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { FASHION_MNIST_FOLDER, loadFashionMnist } from './fashionMnist.js';
import { loadDataset } from './load.js';

const installed = await access(join(FASHION_MNIST_FOLDER, 'train-images-idx3-ubyte.gz'))
  .then(() => true, () => false);
if (!installed) {
  console.warn(
    `Skipping Fashion-MNIST tests: ${FASHION_MNIST_FOLDER} not found ` +
      '(apt-get install dataset-fashion-mnist)',
  );
}

describe.skipIf(!installed)('loadDataset fashion-mnist', () => {
  it('loads 60,000 train images padded to 32x32', async () => {
    const train = await loadDataset('fashion-mnist', { split: 'train' });
    expect(train.count).toBe(60_000);
    expect([train.height, train.width, train.channels]).toEqual([32, 32, 1]);
    expect(train.labels!.length).toBe(60_000);
    expect(train.classNames![9]).toBe('Ankle boot');

    // Each class has 6,000 train images.
    const counts = new Array(10).fill(0);
    for (const label of train.labels!) counts[label]++;
    expect(counts).toEqual(new Array(10).fill(6000));

    // Zero border of 2 around the 28x28 content, values in [0, 1].
    let borderSum = 0;
    let maximum = 0;
    for (let i = 0; i < 100; i++) {
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const value = train.images[i * 1024 + y * 32 + x]!;
          if (y < 2 || y >= 30 || x < 2 || x >= 30) borderSum += value;
          maximum = Math.max(maximum, value);
        }
      }
    }
    expect(borderSum).toBe(0);
    expect(maximum).toBe(1);
  });

  it('loads 10,000 test images', async () => {
    const test = await loadDataset('fashion-mnist', { split: 'test' });
    expect(test.count).toBe(10_000);
    expect(test.labels!.length).toBe(10_000);
  });

  it('joins train and test for all, honouring limit', async () => {
    const some = await loadDataset('fashion-mnist', { split: 'all', limit: 60_005, imageSize: 8 });
    expect(some.count).toBe(60_005);
    expect(some.height).toBe(8);
    expect(some.labels!.length).toBe(60_005);
    const test = await loadDataset('fashion-mnist', { split: 'test', limit: 5, imageSize: 8 });
    expect(Array.from(some.images.subarray(60_000 * 64))).toEqual(Array.from(test.images));
    expect(Array.from(some.labels!.subarray(60_000))).toEqual(Array.from(test.labels!));
  });
});

describe('loadFashionMnist without the files', () => {
  it('explains how to install them', async () => {
    await expect(loadFashionMnist({}, '/nonexistent/fashion-mnist')).rejects.toThrow(
      /install Debian's dataset-fashion-mnist \(apt-get install dataset-fashion-mnist\)/,
    );
  });
});
