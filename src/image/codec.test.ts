import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { encodePng, readImage, writePng } from './codec.js';
import type { ImageData32 } from './types.js';

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ddn-codec-'));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

/**
 * Builds a 16-bit PNG by hand (colour type 0 = gray, 2 = RGB), because
 * sharp writes raw 16-bit input as 8-bit samples.
 */
function encode16BitPng(height: number, width: number, colourType: 0 | 2, samples: number[]): Buffer {
  const channels = colourType === 2 ? 3 : 1;
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * channels * 2);
    for (let i = 0; i < width * channels; i++) {
      row.writeUInt16BE(samples[y * width * channels + i]!, 1 + i * 2);
    }
    rows.push(row);
  }
  const chunk = (type: string, body: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(body.length);
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 16;
  header[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function image(height: number, width: number, channels: 1 | 3, values: number[]): ImageData32 {
  return { data: Float32Array.from(values), height, width, channels };
}

describe('encodePng and readImage', () => {
  it('round-trips a 2x3 gray image as one channel', async () => {
    const gray = image(2, 3, 1, [0, 51 / 255, 1, 128 / 255, 0.2, 1]);
    const path = join(folder, 'gray.png');
    await writeFile(path, await encodePng(gray));

    const read = await readImage(path);
    expect(read.channels).toBe(1);
    expect([read.height, read.width]).toEqual([2, 3]);
    expect(Array.from(read.data, (v) => Math.round(v * 255))).toEqual([0, 51, 255, 128, 51, 255]);
  });

  it('round-trips a 1x2 RGB image', async () => {
    const rgb = image(1, 2, 3, [1, 0, 0, 0, 0.5, 1]);
    const path = join(folder, 'rgb.png');
    await writeFile(path, await encodePng(rgb));

    const read = await readImage(path);
    expect(read.channels).toBe(3);
    expect(Array.from(read.data, (v) => Math.round(v * 255))).toEqual([255, 0, 0, 0, 128, 255]);
  });

  it('clamps out-of-range values and NaN', async () => {
    const path = join(folder, 'clamp.png');
    await writeFile(path, await encodePng(image(1, 4, 1, [-1, 2, NaN, 0.5])));

    const read = await readImage(path);
    expect(Array.from(read.data, (v) => Math.round(v * 255))).toEqual([0, 255, 0, 128]);
  });

  it('drops the alpha channel of RGBA and gray-alpha', async () => {
    const rgbaPath = join(folder, 'rgba.png');
    await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 255]), { raw: { width: 2, height: 1, channels: 4 } })
      .png().toFile(rgbaPath);
    const grayAlphaPath = join(folder, 'gray-alpha.png');
    await sharp(Buffer.from([70, 0, 80, 128]), { raw: { width: 2, height: 1, channels: 2 } })
      .toColourspace('b-w').png().toFile(grayAlphaPath);

    const rgba = await readImage(rgbaPath);
    expect(rgba.channels).toBe(3);
    expect(Array.from(rgba.data, (v) => Math.round(v * 255))).toEqual([10, 20, 30, 40, 50, 60]);
    const grayAlpha = await readImage(grayAlphaPath);
    expect(grayAlpha.channels).toBe(1);
    expect(Array.from(grayAlpha.data, (v) => Math.round(v * 255))).toEqual([70, 80]);
  });

  it('reads a gray JPEG as one channel', async () => {
    const path = join(folder, 'gray.jpg');
    await sharp(Buffer.alloc(64, 200), { raw: { width: 8, height: 8, channels: 1 } })
      .toColourspace('b-w').jpeg({ quality: 100 }).toFile(path);

    const read = await readImage(path);
    expect(read.channels).toBe(1);
    expect(read.data.length).toBe(64);
    for (const value of read.data) expect(Math.abs(value * 255 - 200)).toBeLessThanOrEqual(1);
  });

  it('keeps 16-bit precision of RGB and gray PNGs', async () => {
    const rgbPath = join(folder, 'deep-rgb.png');
    const rgbSamples = [0, 65535, 1000, 30001, 30002, 30003];
    await writeFile(rgbPath, encode16BitPng(1, 2, 2, rgbSamples));
    const grayPath = join(folder, 'deep-gray.png');
    const graySamples = [1, 2, 65534, 40000];
    await writeFile(grayPath, encode16BitPng(2, 2, 0, graySamples));

    const rgb = await readImage(rgbPath);
    expect(rgb.channels).toBe(3);
    expect(Array.from(rgb.data, (v) => Math.round(v * 65535))).toEqual(rgbSamples);
    const gray = await readImage(grayPath);
    expect(gray.channels).toBe(1);
    expect(Array.from(gray.data, (v) => Math.round(v * 65535))).toEqual(graySamples);
  });

  it('rejects a missing file and a non-image file', async () => {
    const textPath = join(folder, 'notes.png');
    await writeFile(textPath, 'not an image');

    await expect(readImage(join(folder, 'missing.png'))).rejects.toThrow(DdnError);
    await expect(readImage(textPath)).rejects.toThrow(DdnError);
    await expect(readImage(textPath)).rejects.toThrow(/notes\.png: cannot read image/);
  });

  it('rejects a data length that does not match the shape', async () => {
    await expect(encodePng(image(2, 2, 3, [0, 0, 0]))).rejects.toThrow(/needs 12 values, found 3/);
  });
});

describe('writePng', () => {
  it('writes a batch as a grid in a new folder', async () => {
    const cells = [0, 0.25, 0.5, 0.75, 1].map((v) => image(2, 2, 1, [v, v, v, v]));
    const path = join(folder, 'nested', 'grid.png');
    await writePng(path, cells, { padding: 1 });

    // Five cells in ceil(sqrt(5)) = 3 columns and 2 rows.
    const read = await readImage(path);
    expect([read.height, read.width, read.channels]).toEqual([2 * 3 + 1, 3 * 3 + 1, 1]);
    expect(await readdir(join(folder, 'nested'))).toEqual(['grid.png']);
  });
});
