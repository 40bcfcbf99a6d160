import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { loadDataset } from './load.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ddn-idx-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function idxBuffer(typeCode: number, dims: number[], body: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = typeCode;
  header[3] = dims.length;
  dims.forEach((side, axis) => header.writeUInt32BE(side, 4 + 4 * axis));
  return Buffer.concat([header, body]);
}

/** Three 28x28 images whose pixels all equal 0, 51 and 255. */
function threeImages(): Buffer {
  const body = new Uint8Array(3 * 28 * 28);
  body.fill(51, 784, 2 * 784);
  body.fill(255, 2 * 784);
  return idxBuffer(0x08, [3, 28, 28], body);
}

describe('loadDataset IDX file', () => {
  it('loads gzip images with labels found beside them', async () => {
    const imagesPath = join(root, 'train-images-idx3-ubyte.gz');
    await writeFile(imagesPath, gzipSync(threeImages()));
    await writeFile(join(root, 'train-labels-idx1-ubyte'), idxBuffer(0x08, [3], Uint8Array.from([7, 0, 3])));

    const dataset = await loadDataset(imagesPath);
    expect(dataset.name).toBe('train-images');
    expect([dataset.count, dataset.height, dataset.width, dataset.channels]).toEqual([3, 32, 32, 1]);
    expect(Array.from(dataset.labels!)).toEqual([7, 0, 3]);
    // Image 1: border 0, inside 51 / 255.
    expect(dataset.images[1024]).toBe(0);
    expect(dataset.images[1024 + 2 * 32 + 2]).toBeCloseTo(0.2, 6);
    expect(dataset.images[2048 + 16 * 32 + 16]).toBe(1);
  });

  it('loads a plain .idx file without labels', async () => {
    const path = join(root, 'digits.idx');
    await writeFile(path, threeImages());
    const dataset = await loadDataset(path, { limit: 2 });
    expect(dataset.name).toBe('digits');
    expect(dataset.count).toBe(2);
    expect(dataset.labels).toBeUndefined();
  });

  it('loads [count, h, w, 3] RGB images', async () => {
    const path = join(root, 'colour.idx');
    await writeFile(path, idxBuffer(0x08, [1, 2, 2, 3], Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])));
    const dataset = await loadDataset(path);
    expect([dataset.height, dataset.width, dataset.channels]).toEqual([2, 2, 3]);
    expect(Array.from(dataset.images)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]);
  });

  it('rejects a labels file with the wrong count', async () => {
    const imagesPath = join(root, 'x-images-idx3-ubyte');
    await writeFile(imagesPath, threeImages());
    await writeFile(join(root, 'x-labels-idx1-ubyte'), idxBuffer(0x08, [2], Uint8Array.from([1, 2])));
    await expect(loadDataset(imagesPath)).rejects.toThrow(/contains 2 labels; expected 3/);
  });

  it('rejects a truncated file and wrong dims', async () => {
    const truncated = join(root, 'cut.idx');
    await writeFile(truncated, threeImages().subarray(0, 100));
    await expect(loadDataset(truncated)).rejects.toThrow(/cut\.idx: truncated IDX data/);

    const flat = join(root, 'flat.idx');
    await writeFile(flat, idxBuffer(0x08, [4], new Uint8Array(4)));
    await expect(loadDataset(flat)).rejects.toThrow(/invalid IDX image dims \[4\]/);
  });

  it('rejects a file that is not IDX', async () => {
    const path = join(root, 'photo.png');
    await writeFile(path, Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]));
    await expect(loadDataset(path)).rejects.toThrow(/invalid IDX magic number/);
  });
});

describe('loadDataset options', () => {
  it('rejects an unknown spec and bad options', async () => {
    await expect(loadDataset('cifar-10')).rejects.toThrow(/dataset 'cifar-10' not found; expected mnist, fashion-mnist/);
    await expect(loadDataset('mnist', { imageSize: 24 })).rejects.toThrow(/invalid image side 24 \(--image-size\); expected a power of two/);
    await expect(loadDataset('mnist', { limit: 0 })).rejects.toThrow(/invalid limit 0/);
    await expect(loadDataset('mnist', { split: 'valid' as 'all' })).rejects.toThrow(DdnError);
  });
});
