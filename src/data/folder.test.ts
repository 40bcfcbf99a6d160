import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { loadDataset } from './load.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ddn-folder-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes a constant PNG of the given side, channels and 8-bit value. */
async function writeConstantPng(path: string, side: number, channels: 1 | 3, value: number): Promise<void> {
  const pipeline = sharp(Buffer.alloc(side * side * channels, value), { raw: { width: side, height: side, channels } });
  if (channels === 1) pipeline.toColourspace('b-w');
  await pipeline.png().toFile(path);
}

describe('loadDataset folder', () => {
  it('loads 8x8 RGB PNGs in name order without labels', async () => {
    await writeConstantPng(join(root, 'b.png'), 8, 3, 255);
    await writeConstantPng(join(root, 'a.png'), 8, 3, 51);
    await writeFile(join(root, 'notes.txt'), 'skipped');
    await writeFile(join(root, '.hidden.png'), 'skipped');

    const dataset = await loadDataset(root);
    expect([dataset.count, dataset.height, dataset.width, dataset.channels]).toEqual([2, 8, 8, 3]);
    expect(dataset.images.length).toBe(2 * 8 * 8 * 3);
    expect(dataset.images[0]).toBeCloseTo(0.2, 6);
    expect(dataset.images[8 * 8 * 3]).toBe(1);
    expect(dataset.labels).toBeUndefined();
    expect(dataset.classNames).toBeUndefined();
  });

  it('labels gray images by class folder, round-robin', async () => {
    for (const [name, count, value] of [['cat', 3, 10], ['dog', 1, 20]] as const) {
      await mkdir(join(root, name));
      for (let i = 0; i < count; i++) await writeConstantPng(join(root, name, `${i}.png`), 4, 1, value);
    }

    const dataset = await loadDataset(root);
    expect(dataset.channels).toBe(1);
    expect(dataset.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(dataset.labels!)).toEqual([0, 1, 0, 0]);
    expect(dataset.images[16]).toBeCloseTo(20 / 255, 6);
  });

  it('shrinks 8x8 images to imageSize 4 and applies limit', async () => {
    await writeConstantPng(join(root, 'a.png'), 8, 1, 255);
    await writeConstantPng(join(root, 'b.png'), 8, 1, 0);
    const dataset = await loadDataset(root, { imageSize: 4, limit: 1 });
    expect([dataset.count, dataset.height]).toEqual([1, 4]);
    expect(Array.from(dataset.images)).toEqual(new Array(16).fill(1));
  });

  it('names the file with a different size', async () => {
    await writeConstantPng(join(root, 'a.png'), 8, 3, 0);
    await writeConstantPng(join(root, 'b.png'), 16, 3, 0);
    await expect(loadDataset(root)).rejects.toThrow(DdnError);
    await expect(loadDataset(root)).rejects.toThrow(/b\.png: image is 16x16 RGB but a\.png is 8x8 RGB/);
  });

  it('names the file with a different channel count', async () => {
    await writeConstantPng(join(root, 'a.png'), 8, 3, 0);
    await writeConstantPng(join(root, 'b.png'), 8, 1, 0);
    await expect(loadDataset(root)).rejects.toThrow(/b\.png: image is 8x8 gray but a\.png is 8x8 RGB/);
  });

  it('rejects an empty folder', async () => {
    await expect(loadDataset(root)).rejects.toThrow(/contains no PNG or JPEG images/);
  });

  it('rejects a file that is not an image', async () => {
    await writeConstantPng(join(root, 'a.png'), 8, 3, 0);
    await writeFile(join(root, 'broken.jpg'), 'not a jpeg');
    await expect(loadDataset(root)).rejects.toThrow(/broken\.jpg: cannot read image/);
  });

  it('rejects loose images beside class folders', async () => {
    await mkdir(join(root, 'cat'));
    await writeConstantPng(join(root, 'cat', 'a.png'), 8, 3, 0);
    await writeConstantPng(join(root, 'b.png'), 8, 3, 0);
    await expect(loadDataset(root)).rejects.toThrow(/mixes images \(b\.png\) with class folders \(cat\)/);
  });

  it('rejects an empty class folder', async () => {
    await mkdir(join(root, 'cat'));
    await mkdir(join(root, 'dog'));
    await writeConstantPng(join(root, 'cat', 'a.png'), 8, 3, 0);
    await expect(loadDataset(root)).rejects.toThrow(/dog: class folder contains no PNG or JPEG images/);
  });

  it('rejects sides that are not powers of two', async () => {
    await writeConstantPng(join(root, 'a.png'), 12, 3, 0);
    await expect(loadDataset(root)).rejects.toThrow(/image side 12 is not a power of two/);
  });

  it('rejects the test split', async () => {
    await writeConstantPng(join(root, 'a.png'), 8, 3, 0);
    await expect(loadDataset(root, { split: 'test' })).rejects.toThrow(/split 'test' is only defined/);
  });
});
