import { describe, expect, it } from 'vitest';

import { padTo, resizeArea, resizeBilinear } from './resize.js';
import type { ImageData32 } from './types.js';

function fromValues(height: number, width: number, channels: 1 | 3, values: number[]): ImageData32 {
  return { data: Float32Array.from(values), height, width, channels };
}

describe('resizeArea', () => {
  it('keeps a constant 8x8 RGB image constant at 2x2', () => {
    const image = fromValues(8, 8, 3, new Array(8 * 8 * 3).fill(0.3));
    const small = resizeArea(image, 2);

    expect([small.height, small.width, small.channels]).toEqual([2, 2, 3]);
    for (const value of small.data) expect(value).toBeCloseTo(0.3, 6);
  });

  it('averages 2x2 blocks of a 4x4 image', () => {
    const image = fromValues(4, 4, 1, [
      0, 1, 2, 3,
      4, 5, 6, 7,
      8, 9, 10, 11,
      12, 13, 14, 15,
    ]);
    // Block means: (0+1+4+5)/4 = 2.5, (2+3+6+7)/4 = 4.5, and so on.
    expect(Array.from(resizeArea(image, 2).data)).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(Array.from(resizeArea(image, 1).data)).toEqual([7.5]);
    expect(Array.from(resizeArea(image, { height: 4, width: 1 }).data)).toEqual([1.5, 5.5, 9.5, 13.5]);
  });

  it('rejects a non-integer factor', () => {
    const image = fromValues(4, 4, 1, new Array(16).fill(0));
    expect(() => resizeArea(image, 3)).toThrow(/cannot shrink 4x4 to 3x3/);
  });
});

describe('resizeBilinear', () => {
  it('returns the same values at the same size', () => {
    const image = fromValues(2, 3, 1, [0, 1, 2, 3, 4, 5]);
    expect(Array.from(resizeBilinear(image, { height: 2, width: 3 }).data)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('interpolates a 1x2 row to 1x4 with half-pixel centres', () => {
    // Output x = 0..3 samples source x = -0.25, 0.25, 0.75, 1.25 (clamped).
    const image = fromValues(1, 2, 1, [0, 1]);
    expect(Array.from(resizeBilinear(image, { height: 1, width: 4 }).data)).toEqual([0, 0.25, 0.75, 1]);
  });

  it('keeps a constant image constant', () => {
    const image = fromValues(3, 5, 3, new Array(45).fill(0.7));
    for (const value of resizeBilinear(image, 7).data) expect(value).toBeCloseTo(0.7, 6);
  });
});

describe('padTo', () => {
  it('centres a 28x28 image in 32x32 with a zero border of 2', () => {
    const image = fromValues(28, 28, 1, new Array(28 * 28).fill(1));
    const padded = padTo(image, 32);

    expect([padded.height, padded.width]).toEqual([32, 32]);
    let sum = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        expect(padded.data[y * 32 + x]).toBe(inside ? 1 : 0);
        sum += padded.data[y * 32 + x]!;
      }
    }
    expect(sum).toBe(28 * 28);
  });

  it('puts the odd extra row and column after the image', () => {
    const image = fromValues(1, 1, 3, [0.1, 0.2, 0.3]);
    const padded = padTo(image, { height: 2, width: 4 });
    // Top margin 0, left margin 1.
    expect(Array.from(padded.data.subarray(3, 6))).toEqual(Array.from(Float32Array.from([0.1, 0.2, 0.3])));
    expect(padded.data.reduce((a, b) => a + b, 0)).toBeCloseTo(0.6);
  });

  it('rejects a smaller target', () => {
    expect(() => padTo(fromValues(4, 4, 1, new Array(16).fill(0)), 2)).toThrow(/cannot pad 4x4 to 2x2/);
  });
});
