/**
 * Improved precision and recall (Kynkäänniemi et al., 2019) on feature
 * vectors. Each set's manifold is the union of balls around its points with
 * radius the distance to the k-th nearest neighbour in the same set.
 * Precision is the share of generated points inside the real manifold, and
 * recall the share of real points inside the generated manifold.
 */

/** Squared distances between rows of a [n·d] and b [m·d], [n·m]. */
function squaredDistances(a: Float32Array, n: number, b: Float32Array, m: number, d: number): Float32Array {
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let k = 0; k < d; k++) {
        const diff = a[i * d + k] - b[j * d + k];
        sum += diff * diff;
      }
      out[i * m + j] = sum;
    }
  }
  return out;
}

/** Squared radius of each point: its squared distance to its k-th nearest other point. */
function kthRadii(x: Float32Array, n: number, d: number, k: number): Float32Array {
  const within = squaredDistances(x, n, x, n, d);
  const radii = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from(within.subarray(i * n, (i + 1) * n));
    row.sort((p, q) => p - q);
    radii[i] = row[Math.min(k, n - 1)]; // row[0] is the point itself
  }
  return radii;
}

/** Share of `queries` rows inside the manifold of `points` rows. */
function coverage(points: Float32Array, n: number, radii: Float32Array, queries: Float32Array, m: number, d: number): number {
  const between = squaredDistances(queries, m, points, n, d);
  let inside = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      if (between[i * n + j] <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / m;
}

export function precisionRecall(
  real: Float32Array,
  generated: Float32Array,
  dimension: number,
  k = 3,
): { precision: number; recall: number } {
  const n = real.length / dimension;
  const m = generated.length / dimension;
  const realRadii = kthRadii(real, n, dimension, k);
  const generatedRadii = kthRadii(generated, m, dimension, k);
  return {
    precision: coverage(real, n, realRadii, generated, m, dimension),
    recall: coverage(generated, m, generatedRadii, real, n, dimension),
  };
}
