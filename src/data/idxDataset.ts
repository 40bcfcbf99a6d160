import { access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { DdnError } from '../errors.js';
import { fitBytes, planImageSize } from './fit.js';
import { readIdxFile } from './idx.js';
import type { Dataset, LoadDatasetOptions } from './types.js';

/** The paths and names of an IDX image file and its labels. */
export interface IdxSource {
  imagesPath: string;
  /** Labels file; when undefined, one named like the images file is looked up. */
  labelsPath?: string;
  name: string;
  classNames?: string[];
}

/**
 * Loads an IDX image file of unsigned bytes with dims [count, height, width]
 * (gray) or [count, height, width, channels] with 1 or 3 channels, scaled
 * to [0, 1]. Labels come from `labelsPath`, or else from a file beside the
 * images named by the usual convention (see findLabelsFile). Labels must
 * be unsigned bytes or int32 with dims [count].
 * Split options are handled by the caller; here only limit and imageSize
 * apply.
 */
export async function loadIdxImages(
  source: IdxSource,
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  const { imagesPath } = source;
  const idx = await readIdxFile(imagesPath);

  // Check the image layout.
  const [count, height, width, channels = 1] = idx.dims;
  const validRank = idx.dims.length === 3 || idx.dims.length === 4;
  if (!validRank || (channels !== 1 && channels !== 3)) {
    throw new DdnError(
      `${imagesPath}: invalid IDX image dims [${idx.dims.join(', ')}]; expected ` +
        '[count, height, width] or [count, height, width, 1 or 3]',
    );
  }
  if (idx.type !== 'uint8') {
    throw new DdnError(
      `${imagesPath}: IDX images of type ${idx.type}; expected unsigned bytes (type code 0x08)`,
    );
  }
  if (count === 0) {
    throw new DdnError(`${imagesPath}: IDX file contains no images`);
  }
  const plan = planImageSize(height!, width!, options.imageSize, imagesPath);

  // Labels, when present, must match the images one to one.
  const labelsPath = source.labelsPath ?? (await findLabelsFile(imagesPath));
  const labels = labelsPath === undefined ? undefined : await readLabels(labelsPath, count!);

  const kept = Math.min(count!, options.limit ?? count!);
  const samples = (idx.data as Uint8Array).subarray(0, kept * height! * width! * channels);
  const dataset: Dataset = {
    name: source.name,
    images: fitBytes(samples, kept, channels as 1 | 3, plan),
    count: kept,
    height: plan.outputSide,
    width: plan.outputSide,
    channels: channels as 1 | 3,
  };
  if (labels !== undefined) dataset.labels = labels.slice(0, kept);
  if (source.classNames !== undefined) dataset.classNames = source.classNames;
  return dataset;
}

/**
 * Returns the labels file that belongs to an IDX image file, if one exists
 * beside it: "images" becomes "labels" and "idx3" becomes "idx1" in the
 * file name (train-images-idx3-ubyte.gz -> train-labels-idx1-ubyte.gz),
 * tried with and without a ".gz" ending.
 */
export async function findLabelsFile(imagesPath: string): Promise<string | undefined> {
  const name = basename(imagesPath);
  const labelsName = name.replace(/images/g, 'labels').replace(/idx3/g, 'idx1');
  if (labelsName === name) return undefined;

  const plainName = labelsName.replace(/\.gz$/, '');
  for (const candidate of [labelsName, plainName, `${plainName}.gz`]) {
    const path = join(dirname(imagesPath), candidate);
    if (await exists(path)) return path;
  }
  return undefined;
}

async function readLabels(path: string, imageCount: number): Promise<Int32Array> {
  const idx = await readIdxFile(path);
  if (idx.dims.length !== 1 || (idx.type !== 'uint8' && idx.type !== 'int32')) {
    throw new DdnError(
      `${path}: invalid IDX labels: expected one dimension of unsigned bytes ` +
        `or int32, found ${idx.type} dims [${idx.dims.join(', ')}]`,
    );
  }
  if (idx.dims[0] !== imageCount) {
    throw new DdnError(
      `${path}: contains ${idx.dims[0]} labels; expected ${imageCount}, one per image`,
    );
  }
  return Int32Array.from(idx.data as Uint8Array | Int32Array);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
