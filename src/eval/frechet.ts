/**
 * The Fréchet distance between two Gaussians fitted to feature sets:
 *   |μ1 − μ2|² + tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½).
 * The matrix square roots come from eigen-decompositions of symmetric
 * matrices only: Σ1^½ Σ2 Σ1^½ is symmetric positive semi-definite, so its
 * trace root is the sum of the roots of its eigenvalues.
 */
import { matMul, meanAndCovariance, sqrtPsd, symmetricEigen } from './linalg.js';

export interface Gaussian {
  mean: Float64Array;
  cov: Float64Array;
  dimension: number;
}

/** Fits a Gaussian to `n` feature rows `features` [n·d]. */
export function fitGaussian(features: ArrayLike<number>, n: number, d: number): Gaussian {
  const { mean, cov } = meanAndCovariance(features, n, d);
  return { mean, cov, dimension: d };
}

export function frechetDistance(a: Gaussian, b: Gaussian): number {
  const d = a.dimension;
  if (b.dimension !== d) throw new RangeError(`feature sizes differ: ${d} and ${b.dimension}`);
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (a.mean[i] - b.mean[i]) ** 2;

  const rootA = sqrtPsd(a.cov, d);
  const middle = matMul(matMul(rootA, b.cov, d), rootA, d);
  // Symmetrise against rounding before the eigen-decomposition.
  for (let i = 0; i < d; i++) {
    for (let j = i + 1; j < d; j++) {
      const v = (middle[i * d + j] + middle[j * d + i]) / 2;
      middle[i * d + j] = v;
      middle[j * d + i] = v;
    }
  }
  const { values } = symmetricEigen(middle, d);
  let traceRoot = 0;
  for (const v of values) traceRoot += Math.sqrt(Math.max(0, v));
  let trace = 0;
  for (let i = 0; i < d; i++) trace += a.cov[i * d + i] + b.cov[i * d + i];
  return Math.max(0, meanTerm + trace - 2 * traceRoot);
}
