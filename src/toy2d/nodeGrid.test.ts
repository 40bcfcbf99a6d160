import { describe, expect, it } from 'vitest';

import { NodeGrid } from './nodeGrid.js';
import { Rng } from './rng.js';

/** Brute-force distances of the closest and second closest node. */
function bruteForce(
  xs: Float64Array,
  ys: Float64Array,
  x: number,
  y: number,
): [number, number] {
  const distances = Array.from(xs, (nodeX, node) =>
    (nodeX - x) ** 2 + (ys[node]! - y) ** 2,
  ).sort((a, b) => a - b);
  return [distances[0]!, distances[1] ?? Infinity];
}

function squaredDistance(
  xs: Float64Array,
  ys: Float64Array,
  node: number,
  x: number,
  y: number,
): number {
  return (xs[node]! - x) ** 2 + (ys[node]! - y) ** 2;
}

describe('NodeGrid', () => {
  const cases = [
    { k: 1, spread: 1, cellsPerSide: undefined },
    { k: 2, spread: 1, cellsPerSide: undefined },
    { k: 50, spread: 1, cellsPerSide: 7 },
    { k: 500, spread: 1, cellsPerSide: undefined },
    { k: 500, spread: 0.05, cellsPerSide: undefined },
    { k: 300, spread: 1.6, cellsPerSide: 10 },
  ];

  for (const { k, spread, cellsPerSide } of cases) {
    it(`matches brute force, k=${k} spread=${spread}`, () => {
      const rng = new Rng(k * 31 + Math.round(spread * 100));
      const xs = new Float64Array(k);
      const ys = new Float64Array(k);
      for (let node = 0; node < k; node++) {
        xs[node] = rng.uniform(-spread, spread);
        ys[node] = rng.uniform(-spread, spread);
      }
      const grid = new NodeGrid(xs, ys, cellsPerSide);

      for (let query = 0; query < 400; query++) {
        // Move a few nodes between queries, some outside [−1, 1]².
        const node = rng.int(k);
        grid.move(node, rng.uniform(-spread, spread), rng.uniform(-1.2, 1.2));

        const x = rng.uniform(-1, 1);
        const y = rng.uniform(-1, 1);
        const [best, secondBest] = bruteForce(xs, ys, x, y);
        const nearest = grid.nearest(x, y);
        expect(squaredDistance(xs, ys, nearest, x, y)).toBe(best);

        grid.nearestTwo(x, y);
        expect(squaredDistance(xs, ys, grid.first, x, y)).toBe(best);
        if (k === 1) {
          expect(grid.second).toBe(-1);
        } else {
          expect(grid.second).not.toBe(grid.first);
          expect(squaredDistance(xs, ys, grid.second, x, y)).toBe(secondBest);
        }
      }
    });
  }
});
