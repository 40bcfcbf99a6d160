import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../backend/select.js';
import { Rng } from '../data/rng.js';
import { DdnError } from '../errors.js';
import { conditionFromTarget, sobelEdges } from './condition.js';
import { makeConfig } from './config.js';
import { DdnModel } from './model.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('class-conditional model', () => {
  it.each(['single-shot', 'recurrence'] as const)('%s: the class changes the output for a fixed latent', (paradigm) => {
    const config = makeConfig({ paradigm, imageSize: 8, k: 4, levels: 3, channels: 8, condition: 'class', classCount: 3 });
    const model = new DdnModel(config, 1);
    const latent = [Int32Array.from([1, 2, 3])];
    const before = tf.memory().numTensors;
    const a = model.decode(latent, 3, 64, { labels: Int32Array.from([0]) });
    const b = model.decode(latent, 3, 64, { labels: Int32Array.from([2]) });
    const again = model.decode(latent, 3, 64, { labels: Int32Array.from([0]) });
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(again.images)).toEqual(Array.from(a.images));
    const difference = a.images.reduce((sum, v, i) => sum + Math.abs(v - b.images[i]), 0);
    expect(difference).toBeGreaterThan(0.01);
    model.dispose();
  });

  it('rejects a class out of range and a wrong label count', () => {
    const config = makeConfig({ imageSize: 8, k: 4, levels: 3, channels: 8, condition: 'class', classCount: 3 });
    const model = new DdnModel(config, 1);
    expect(() => model.sample(2, new Rng(0), 64, { labels: Int32Array.from([0, 3]) })).toThrow(/class 3 is out of range/);
    expect(() => model.sample(2, new Rng(0), 64, { labels: Int32Array.from([0]) })).toThrow(DdnError);
    expect(() => model.sample(2, new Rng(0))).toThrow(/class-conditional/);
    model.dispose();
  });
});

describe('image-conditioned model', () => {
  it.each(['edges', 'gray', 'lowres'] as const)('%s: the condition image changes the output', (condition) => {
    const config = makeConfig({ imageSize: 8, imageChannels: 3, k: 4, levels: 3, channels: 8, condition });
    const model = new DdnModel(config, 2);
    const cc = condition === 'lowres' ? 3 : 1;
    const latent = [Int32Array.from([0, 1, 2])];
    const blank = new Float32Array(64 * cc);
    const lit = new Float32Array(64 * cc).map((_, i) => (i % 5) / 4);
    const a = model.decode(latent, 3, 64, { images: blank });
    const b = model.decode(latent, 3, 64, { images: lit });
    const difference = a.images.reduce((sum, v, i) => sum + Math.abs(v - b.images[i]), 0);
    expect(difference).toBeGreaterThan(0.01);
    expect(() => model.decode(latent, 3, 64, { images: new Float32Array(10) })).toThrow(DdnError);
    model.dispose();
  });
});

describe('condition images', () => {
  it('finds a vertical edge with Sobel', () => {
    // Left half black (−1), right half white (1).
    const image = tf.tensor4d(Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? -1 : 1)), [1, 4, 4, 1]);
    const edges = tf.reshape(sobelEdges(image), [4, 4]).arraySync() as number[][];
    expect(edges[1][0]).toBeCloseTo(-1, 5); // flat: no edge
    expect(edges[1][1]).toBeCloseTo(1, 5); // the step: full strength
    expect(edges[1][2]).toBeCloseTo(1, 5);
  });

  it('makes a 4× low-resolution copy at full size', () => {
    const image = tf.tensor4d(Array.from({ length: 64 }, (_, i) => i / 64), [1, 8, 8, 1]);
    const low = tf.reshape(conditionFromTarget('lowres', image), [8, 8]).arraySync() as number[][];
    expect(low[0][0]).toBeCloseTo(low[3][3], 6);
    expect(low[0][0]).toBeCloseTo((0 + 1 + 2 + 3 + 8 + 9 + 10 + 11 + 16 + 17 + 18 + 19 + 24 + 25 + 26 + 27) / 16 / 64, 5);
    expect(low[0][4]).not.toBeCloseTo(low[0][0], 3);
  });
});
