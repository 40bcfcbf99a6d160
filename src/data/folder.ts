import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

import { DdnError } from '../errors.js';
import { readImage } from '../image/codec.js';
import type { ImageData32 } from '../image/types.js';
import { fitImage, planImageSize } from './fit.js';
import { interleaveByClass } from './interleave.js';
import type { Dataset, LoadDatasetOptions } from './types.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);
// Images decoded at the same time; sharp runs each decode on its own thread.
const DECODE_CONCURRENCY = 8;

/**
 * Loads every PNG and JPEG image in a folder. Either all images sit
 * directly in the folder (no labels), or each sub-folder is one class and
 * contains that class's images. Then the labels are the sub-folder index
 * in name order, and classNames the sub-folder names. Names starting with
 * "." and files with other extensions are skipped, as are folders inside
 * class folders. Images are read in name order, and with classes the order
 * is round-robin over the classes, so a `limit` prefix is close to
 * balanced.
 *
 * Throws DdnError for a folder without images, a mix of loose images and
 * class folders, a class folder without images and a file that fails to
 * decode. It also throws when an image's size or channel count differs
 * from the first image, and the message names both files.
 */
export async function loadImageFolder(
  folder: string,
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  // List the images and the classes.
  const { files, folders } = await listEntries(folder);
  let entries: { label: number; item: string }[];
  let classNames: string[] | undefined;
  if (folders.length === 0) {
    if (files.length === 0) {
      throw new DdnError(`${folder}: contains no PNG or JPEG images`);
    }
    entries = files.map((path) => ({ label: -1, item: path }));
  } else {
    if (files.length > 0) {
      throw new DdnError(
        `${folder}: mixes images (${basename(files[0]!)}) with class folders ` +
          `(${basename(folders[0]!)}); expected every image inside a class ` +
          'folder, or no class folders',
      );
    }
    const filesByClass = await Promise.all(folders.map(async (classFolder) => {
      const listing = await listEntries(classFolder);
      if (listing.files.length === 0) {
        throw new DdnError(`${classFolder}: class folder contains no PNG or JPEG images`);
      }
      return listing.files;
    }));
    entries = interleaveByClass(filesByClass);
    classNames = folders.map((path) => basename(path));
  }
  if (options.limit !== undefined) entries = entries.slice(0, options.limit);

  // Decode, check that every image matches the first, and fit.
  const decoded = await mapConcurrently(entries, DECODE_CONCURRENCY, ({ item }) => readImage(item));
  const first = decoded[0]!;
  decoded.forEach((image, index) => {
    checkSameShape(image, first, entries[index]!.item, entries[0]!.item);
  });
  const plan = planImageSize(first.height, first.width, options.imageSize, folder);
  const imageLength = plan.outputSide * plan.outputSide * first.channels;
  const images = new Float32Array(entries.length * imageLength);
  decoded.forEach((image, index) => images.set(fitImage(image, plan).data, index * imageLength));

  const dataset: Dataset = {
    name: basename(resolve(folder)),
    images,
    count: entries.length,
    height: plan.outputSide,
    width: plan.outputSide,
    channels: first.channels,
  };
  if (classNames !== undefined) {
    dataset.labels = Int32Array.from(entries, ({ label }) => label);
    dataset.classNames = classNames;
  }
  return dataset;
}

function checkSameShape(
  image: ImageData32,
  first: ImageData32,
  path: string,
  firstPath: string,
): void {
  const sameSize = image.height === first.height && image.width === first.width;
  if (!sameSize || image.channels !== first.channels) {
    throw new DdnError(
      `${path}: image is ${describeShape(image)} but ${basename(firstPath)} is ` +
        `${describeShape(first)}; expected all images to share size and channel count`,
    );
  }
}

function describeShape(image: ImageData32): string {
  return `${image.height}x${image.width} ${image.channels === 1 ? 'gray' : 'RGB'}`;
}

/** Lists image files and sub-folders by name, following symbolic links. */
async function listEntries(folder: string): Promise<{ files: string[]; folders: string[] }> {
  let names: string[];
  try {
    names = (await readdir(folder)).sort();
  } catch (error) {
    throw new DdnError(`${folder}: cannot list folder: ${(error as Error).message}`);
  }
  const files: string[] = [];
  const folders: string[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const path = join(folder, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) folders.push(path);
    else if (info?.isFile() && IMAGE_EXTENSIONS.has(extname(name).toLowerCase())) files.push(path);
  }
  return { files, folders };
}

/** Maps with at most `concurrency` calls in flight, keeping input order. */
async function mapConcurrently<T, R>(
  items: T[],
  concurrency: number,
  map: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < items.length) {
      const index = nextIndex++;
      results[index] = await map(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
