import type { Density2d } from './densities.js';
import type { Rng } from './rng.js';

/**
 * Draws points from a binned density: a cell by inverse CDF over the
 * cells, then a uniform position inside that cell.
 */
export class DensitySampler {
  readonly bins: number;

  /** Cumulative mass over row-major cells, [bins * bins]. */
  private readonly cdf: Float64Array;

  constructor(density: Density2d) {
    this.bins = density.bins;
    this.cdf = new Float64Array(density.mass.length);
    let running = 0;
    for (let i = 0; i < density.mass.length; i++) {
      running += density.mass[i]!;
      this.cdf[i] = running;
    }
  }

  /** Returns the row-major cell index of one draw. */
  drawCell(rng: Rng): number {
    const cdf = this.cdf;
    const target = rng.next() * cdf[cdf.length - 1]!;

    // First cell whose cumulative mass exceeds the target.
    let low = 0;
    let high = cdf.length - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cdf[middle]! > target) {
        high = middle;
      } else {
        low = middle + 1;
      }
    }
    return low;
  }

  /** Writes `count` points into xs and ys, starting at index 0. */
  draw(rng: Rng, count: number, xs: Float64Array, ys: Float64Array): void {
    const bins = this.bins;
    const cellSize = 2 / bins;
    for (let i = 0; i < count; i++) {
      const cell = this.drawCell(rng);
      const row = Math.floor(cell / bins);
      const col = cell - row * bins;
      xs[i] = -1 + cellSize * (col + rng.next());
      ys[i] = 1 - cellSize * (row + rng.next());
    }
  }
}
