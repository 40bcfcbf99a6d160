import { describe, expect, it } from 'vitest';

import { makeGrid } from './grid.js';
import type { ImageData32 } from './types.js';

function constant(height: number, width: number, channels: 1 | 3, value: number): ImageData32 {
  return { data: new Float32Array(height * width * channels).fill(value), height, width, channels };
}

/** Reads channel `c` of pixel (y, x). */
function at(image: ImageData32, y: number, x: number, c = 0): number {
  return image.data[(y * image.width + x) * image.channels + c]!;
}

describe('makeGrid', () => {
  it('places five 2x3 gray images in 2 columns', () => {
    const images = [1, 2, 3, 4, 5].map((v) => constant(2, 3, 1, v / 10));
    const grid = makeGrid(images, 2, { padding: 1, background: 0.9 });

    // 3 rows: 3 * (2 + 1) + 1 = 10; 2 columns: 2 * (3 + 1) + 1 = 9.
    expect([grid.height, grid.width, grid.channels]).toEqual([10, 9, 1]);
    expect(at(grid, 0, 0)).toBeCloseTo(0.9);
    expect(at(grid, 1, 1)).toBeCloseTo(0.1);
    expect(at(grid, 2, 3)).toBeCloseTo(0.1);
    expect(at(grid, 1, 4)).toBeCloseTo(0.9);
    expect(at(grid, 1, 5)).toBeCloseTo(0.2);
    expect(at(grid, 4, 1)).toBeCloseTo(0.3);
    expect(at(grid, 4, 5)).toBeCloseTo(0.4);
    expect(at(grid, 7, 1)).toBeCloseTo(0.5);
    // The sixth cell is empty.
    expect(at(grid, 7, 5)).toBeCloseTo(0.9);
  });

  it('keeps pixel order inside a cell', () => {
    const image: ImageData32 = { data: Float32Array.from([1, 2, 3, 4]), height: 2, width: 2, channels: 1 };
    const grid = makeGrid([image], 4, { padding: 2 });

    expect([grid.height, grid.width]).toEqual([6, 6]);
    expect([at(grid, 2, 2), at(grid, 2, 3), at(grid, 3, 2), at(grid, 3, 3)]).toEqual([1, 2, 3, 4]);
  });

  it('turns a gray and RGB mix into RGB', () => {
    const gray = constant(1, 1, 1, 0.5);
    const rgb: ImageData32 = { data: Float32Array.from([1, 0, 0.25]), height: 1, width: 1, channels: 3 };
    const grid = makeGrid([gray, rgb], 2, { padding: 0 });

    expect([grid.height, grid.width, grid.channels]).toEqual([1, 2, 3]);
    expect(Array.from(grid.data)).toEqual([0.5, 0.5, 0.5, 1, 0, 0.25]);
  });

  it('rejects an empty list and mixed sizes', () => {
    expect(() => makeGrid([], 2)).toThrow(/expected at least one image/);
    expect(() => makeGrid([constant(2, 2, 1, 0), constant(3, 2, 1, 0)], 2)).toThrow(
      /image 1 is 3x2; expected 2x2 like image 0/,
    );
    expect(() => makeGrid([constant(2, 2, 1, 0)], 0)).toThrow(/invalid columns 0/);
  });
});
