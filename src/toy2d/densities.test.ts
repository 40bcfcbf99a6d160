import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import {
  BUILT_IN_DENSITIES,
  builtInDensity,
  loadDensity,
  resizeByArea,
} from './densities.js';

function sum(values: Float64Array): number {
  return values.reduce((total, value) => total + value, 0);
}

describe('densities', () => {
  for (const name of BUILT_IN_DENSITIES) {
    it(`${name} is a normalised density`, () => {
      const density = builtInDensity(name, 40);
      expect(density.mass.length).toBe(1600);
      expect(sum(density.mass)).toBeCloseTo(1, 12);
      expect(Math.min(...density.mass)).toBeGreaterThan(0);
    });
  }

  it('rejects an unknown name', async () => {
    await expect(loadDensity('no-such-density', 10)).rejects.toThrow(DdnError);
    await expect(loadDensity('no-such-density', 10)).rejects.toThrow(
      /Unknown density 'no-such-density'/,
    );
  });

  it('rejects a PNG that is not an image', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'toy2d-'));
    const path = join(folder, 'broken.png');
    await writeFile(path, 'this is text, not a PNG');
    await expect(loadDensity(path, 10)).rejects.toThrow(DdnError);
    await expect(loadDensity(path, 10)).rejects.toThrow(
      /Cannot read density image/,
    );
  });

  it('rejects a black image', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'toy2d-'));
    const path = join(folder, 'black.png');
    const black = Buffer.alloc(8 * 8);
    await sharp(black, { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(path);
    await expect(loadDensity(path, 4)).rejects.toThrow(/no mass/);
  });

  it('reads PNG brightness as mass', async () => {
    // 8 × 4 image: left half white, right half mid-grey, resized to 2 × 2.
    const folder = await mkdtemp(join(tmpdir(), 'toy2d-'));
    const path = join(folder, 'halves.png');
    const pixels = Buffer.alloc(8 * 4 * 3);
    for (let row = 0; row < 4; row++) {
      for (let col = 0; col < 8; col++) {
        pixels.fill(col < 4 ? 255 : 85, (row * 8 + col) * 3, (row * 8 + col + 1) * 3);
      }
    }
    await sharp(pixels, { raw: { width: 8, height: 4, channels: 3 } })
      .png()
      .toFile(path);

    const density = await loadDensity(path, 2);
    expect(density.mass[0]).toBeCloseTo(0.375, 6);
    expect(density.mass[1]).toBeCloseTo(0.125, 6);
    expect(density.mass[2]).toBeCloseTo(0.375, 6);
    expect(density.mass[3]).toBeCloseTo(0.125, 6);
  });

  it('resizes by area with partial pixels', () => {
    // 3 pixels to 2 cells: each cell covers 1.5 pixels.
    const resized = resizeByArea(new Float64Array([3, 6, 9]), 3, 1, 2, 1);
    expect(resized[0]).toBeCloseTo((3 + 0.5 * 6) / 1.5, 12);
    expect(resized[1]).toBeCloseTo((0.5 * 6 + 9) / 1.5, 12);
  });
});
