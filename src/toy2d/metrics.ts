/**
 * Divergences between a point set and a binned ground truth, computed on
 * the cells as the authors' toy does: P is the normalised histogram of the
 * points, Q the ground-truth mass (never zero, see MASS_FLOOR).
 */
import { cellOf, type Density2d } from './densities.js';

export interface Divergences {
  /** KL(P ‖ Q) in nats. */
  kl: number;
  /** Jensen–Shannon divergence in bits, between 0 and 1. */
  js: number;
  /** Total variation, ½·Σ|P − Q|, between 0 and 1. */
  tv: number;
  /** Hellinger distance, √(½·Σ(√P − √Q)²), between 0 and 1. */
  hellinger: number;
}

/**
 * Returns the normalised histogram [bins * bins] of the first `count`
 * points; points outside [−1, 1]² land in the nearest edge cell.
 */
export function histogram(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  bins: number,
  count = xs.length,
): Float64Array {
  const shares = new Float64Array(bins * bins);
  for (let i = 0; i < count; i++) {
    shares[cellOf(xs[i]!, ys[i]!, bins)]! += 1;
  }
  for (let cell = 0; cell < shares.length; cell++) {
    shares[cell]! /= count;
  }
  return shares;
}

/** Returns KL, JS, TV and Hellinger of histogram `p` against `density`. */
export function divergences(p: Float64Array, density: Density2d): Divergences {
  const q = density.mass;
  let kl = 0;
  let js = 0;
  let tv = 0;
  let hellingerSquared = 0;
  for (let i = 0; i < q.length; i++) {
    const pi = p[i]!;
    const qi = q[i]!;
    const mean = (pi + qi) / 2;
    if (pi > 0) {
      kl += pi * Math.log(pi / qi);
      js += 0.5 * pi * Math.log(pi / mean);
    }
    js += 0.5 * qi * Math.log(qi / mean);
    tv += 0.5 * Math.abs(pi - qi);
    const rootGap = Math.sqrt(pi) - Math.sqrt(qi);
    hellingerSquared += 0.5 * rootGap * rootGap;
  }
  return {
    kl,
    js: js / Math.LN2,
    tv,
    hellinger: Math.sqrt(hellingerSquared),
  };
}
