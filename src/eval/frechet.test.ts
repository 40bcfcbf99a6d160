import { describe, expect, it } from 'vitest';

import { Rng } from '../data/rng.js';
import { fitGaussian, frechetDistance } from './frechet.js';
import { sqrtPsd, symmetricEigen } from './linalg.js';

describe('symmetricEigen', () => {
  it('finds the eigenvalues of a 2×2 matrix', () => {
    const { values } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect([...values].sort()).toEqual([1, 3].map((v) => expect.closeTo(v, 12)));
  });

  it('squares its root back to the matrix', () => {
    const m = Float64Array.from([4, 1, 0, 1, 3, 0.5, 0, 0.5, 2]);
    const r = sqrtPsd(m, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let sum = 0;
        for (let k = 0; k < 3; k++) sum += r[i * 3 + k] * r[k * 3 + j];
        expect(sum).toBeCloseTo(m[i * 3 + j], 10);
      }
    }
  });
});

describe('frechetDistance', () => {
  it('is 0 for a set against itself', () => {
    const rng = new Rng(1);
    const n = 500;
    const d = 8;
    const x = Float64Array.from({ length: n * d }, () => rng.normal());
    const g = fitGaussian(x, n, d);
    expect(frechetDistance(g, g)).toBeLessThan(1e-9);
  });

  it('matches the closed form of diagonal Gaussians', () => {
    // Diagonal covariances: FD = |μ1 − μ2|² + Σ (σ1 − σ2)².
    const a = { mean: Float64Array.from([0, 0]), cov: Float64Array.from([4, 0, 0, 1]), dimension: 2 };
    const b = { mean: Float64Array.from([1, 2]), cov: Float64Array.from([1, 0, 0, 9]), dimension: 2 };
    expect(frechetDistance(a, b)).toBeCloseTo(5 + (2 - 1) ** 2 + (1 - 3) ** 2, 10);
  });

  it('matches the closed form of commuting full covariances', () => {
    // Σ2 = 4 Σ1 commute, so tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^½) = tr(Σ1 + 4Σ1 − 4Σ1) = tr Σ1.
    const cov = Float64Array.from([2, 0.5, 0.5, 1]);
    const a = { mean: Float64Array.from([0, 0]), cov, dimension: 2 };
    const b = { mean: Float64Array.from([0, 0]), cov: cov.map((v) => 4 * v), dimension: 2 };
    expect(frechetDistance(a, b)).toBeCloseTo(3, 10);
  });
});
