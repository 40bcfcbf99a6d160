import { access } from 'node:fs/promises';
import { join } from 'node:path';

import { DdnError } from '../errors.js';
import { loadIdxImages } from './idxDataset.js';
import type { Dataset, LoadDatasetOptions } from './types.js';

/** Folder where Debian's package dataset-fashion-mnist installs the IDX files. */
export const FASHION_MNIST_FOLDER = '/usr/share/datasets/fashion-mnist';

/** Fashion-MNIST class names, indexed by label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat',
  'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

const FILE_PREFIXES = { train: 'train', test: 't10k' } as const;

/**
 * Loads Fashion-MNIST from the IDX files that Debian's package
 * dataset-fashion-mnist installs: 60,000 train and 10,000 test images,
 * 28x28 gray, with labels. The images are zero-padded to 32x32 by default.
 * 'all' is the train split followed by the test split.
 */
export async function loadFashionMnist(
  options: LoadDatasetOptions = {},
  folder = FASHION_MNIST_FOLDER,
): Promise<Dataset> {
  const { split = 'train' } = options;
  if (split !== 'all') return loadPart(FILE_PREFIXES[split], options, folder);

  // Load both parts, then join them, honouring limit over the whole.
  const train = await loadPart('train', options, folder);
  const remaining = options.limit === undefined ? undefined : options.limit - train.count;
  if (remaining === 0) return train;
  const test = await loadPart('t10k', { ...options, limit: remaining }, folder);
  const images = new Float32Array(train.images.length + test.images.length);
  images.set(train.images);
  images.set(test.images, train.images.length);
  const labels = new Int32Array(train.count + test.count);
  labels.set(train.labels!);
  labels.set(test.labels!, train.count);
  return { ...train, images, labels, count: train.count + test.count };
}

async function loadPart(
  prefix: string,
  options: LoadDatasetOptions,
  folder: string,
): Promise<Dataset> {
  const imagesPath = join(folder, `${prefix}-images-idx3-ubyte.gz`);
  const labelsPath = join(folder, `${prefix}-labels-idx1-ubyte.gz`);
  for (const path of [imagesPath, labelsPath]) {
    try {
      await access(path);
    } catch {
      throw new DdnError(
        `fashion-mnist: ${path} not found; install Debian's dataset-fashion-mnist ` +
          '(apt-get install dataset-fashion-mnist) or pass an IDX file such as ' +
          'train-images-idx3-ubyte.gz',
      );
    }
  }
  return loadIdxImages(
    { imagesPath, labelsPath, name: 'fashion-mnist', classNames: FASHION_MNIST_CLASSES },
    options,
  );
}
