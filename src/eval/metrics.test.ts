import { describe, expect, it } from 'vitest';

import { Rng } from '../data/rng.js';
import { psnr } from './metrics.js';
import { precisionRecall } from './precisionRecall.js';
import { ssim } from './ssim.js';
import { entropyBits, nodeEntropy } from './usage.js';

describe('ssim', () => {
  it('is 1 for an image with itself', () => {
    const image = Float32Array.from({ length: 16 * 16 }, (_, i) => (i * 37) % 101 / 100);
    expect(ssim(image, image, 16, 16, 1)).toBeCloseTo(1, 12);
  });

  it('falls for a noisy copy and is symmetric', () => {
    const rng = new Rng(2);
    const image = Float32Array.from({ length: 16 * 16 * 3 }, () => rng.next());
    const noisy = image.map((v) => Math.min(1, Math.max(0, v + 0.2 * rng.normal())));
    const s = ssim(image, noisy, 16, 16, 3);
    expect(s).toBeLessThan(0.9);
    expect(s).toBeGreaterThan(0);
    expect(ssim(noisy, image, 16, 16, 3)).toBeCloseTo(s, 10);
  });
});

describe('psnr', () => {
  it('is 20 dB for an error of 0.1 everywhere', () => {
    const a = new Float32Array(10).fill(0.5);
    const b = new Float32Array(10).fill(0.6);
    expect(psnr(a, b)).toBeCloseTo(20, 4);
  });
});

describe('nodeEntropy', () => {
  it('is log2 K for uniform use', () => {
    const latents = Array.from({ length: 64 }, (_, i) => [i % 8, i % 16]);
    const [h8, h16] = nodeEntropy(latents, [8, 16]);
    expect(h8).toBeCloseTo(3, 12);
    expect(h16).toBeCloseTo(4, 12);
  });

  it('is 0 for one node', () => {
    expect(entropyBits([0, 10, 0])).toBe(0);
  });
});

describe('precisionRecall', () => {
  it('is 1 and 1 for the same set', () => {
    const rng = new Rng(3);
    const x = Float32Array.from({ length: 200 * 4 }, () => rng.normal());
    const { precision, recall } = precisionRecall(x, x, 4);
    expect(precision).toBe(1);
    expect(recall).toBe(1);
  });

  it('gives low precision when samples lie off the data', () => {
    const rng = new Rng(4);
    const real = Float32Array.from({ length: 200 * 2 }, () => rng.normal());
    const far = Float32Array.from({ length: 200 * 2 }, () => 20 + rng.normal());
    const result = precisionRecall(real, far, 2);
    expect(result.precision).toBe(0);
    expect(result.recall).toBe(0);
  });

  it('separates precision from recall for a collapsed generator', () => {
    const rng = new Rng(5);
    const real = Float32Array.from({ length: 300 * 2 }, () => rng.normal());
    // All samples near the origin: inside the data, but covering little of it.
    const collapsed = Float32Array.from({ length: 300 * 2 }, () => 0.05 * rng.normal());
    const result = precisionRecall(real, collapsed, 2);
    expect(result.precision).toBeGreaterThan(0.9);
    expect(result.recall).toBeLessThan(0.3);
  });
});
