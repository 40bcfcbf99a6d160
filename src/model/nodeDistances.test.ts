import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { directSquaredDistances, distanceCosts, gramSquaredDistances } from './nodeDistances.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gramSquaredDistances', () => {
  it.each([
    [2, 4, 4, 8, 16, 1],
    [3, 8, 8, 6, 5, 3],
    [1, 1, 1, 4, 7, 1],
  ])('equals the direct form for b=%i h=%i w=%i C=%i K=%i c=%i', (b, h, w, C, K, c) => {
    const before = tf.memory().numTensors;
    const features = tf.randomNormal([b, h, w, C], 0, 1, 'float32', 1) as tf.Tensor4D;
    const weights = tf.randomNormal([C, K, c], 0, 0.3, 'float32', 2);
    const residual = tf.randomUniform([b, h, w, c], -1, 1, 'float32', 3) as tf.Tensor4D;
    const direct = directSquaredDistances(features, weights, residual);
    const gram = gramSquaredDistances(features, weights, residual);
    expect(gram.shape).toEqual([b, K]);
    const d = direct.dataSync();
    const g = gram.dataSync();
    for (let i = 0; i < d.length; i++) {
      expect(Math.abs(g[i] - d[i])).toBeLessThan(1e-4 * Math.max(1, d[i]));
    }
    // The direct form, checked by hand for one entry.
    const f = features.arraySync();
    const wt = weights.arraySync() as number[][][];
    const r = residual.arraySync();
    let sum = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let ch = 0; ch < c; ch++) {
          let out = 0;
          for (let i = 0; i < C; i++) out += f[0][y][x][i] * wt[i][K - 1][ch];
          sum += (out - r[0][y][x][ch]) ** 2;
        }
      }
    }
    expect(d[K - 1]).toBeCloseTo(sum / (h * w * c), 4);
    tf.dispose([features, weights, residual, direct, gram]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('costs less than the direct form at 32×32 with K = 512', () => {
    const cost = distanceCosts(32 * 32, 64, 512, 3);
    expect(cost.gram).toBeLessThan(cost.direct / 5);
  });
});
