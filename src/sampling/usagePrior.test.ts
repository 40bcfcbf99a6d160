import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { Rng } from '../data/rng.js';
import { makeConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import type { NodeCounts } from './nodeCounts.js';
import { UsagePrior, UsagePriorSampler } from './usagePrior.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** One level of K = 8 whose first and last nodes, among others, are never used. */
const SPARSE: NodeCounts = { ks: [8], rows: 1, counts: [[[0, 5, 0, 0, 3, 0, 2, 0]]], images: [10] };

/** Two rows (classes) of two levels, K = 4, each row using other nodes. */
const TWO_ROWS: NodeCounts = {
  ks: [4, 4],
  rows: 2,
  counts: [
    [[1, 1, 0, 0], [0, 0, 1, 0]],
    [[0, 0, 0, 7], [2, 0, 0, 0]],
  ],
  images: [2, 7],
};

describe('UsagePrior', () => {
  it('follows the counts at temperature 1', () => {
    const p = new UsagePrior(SPARSE).probabilities(0, 0);
    expect(Array.from(p)).toEqual([0, 0.5, 0, 0, 0.3, 0, 0.2, 0].map((x) => expect.closeTo(x, 12)));
  });

  it('raises counts to 1/temperature', () => {
    // 5², 3², 2² = 25, 9, 4 of 38.
    const p = new UsagePrior(SPARSE, 0.5).probabilities(0, 0);
    expect(p[1]).toBeCloseTo(25 / 38, 12);
    expect(p[4]).toBeCloseTo(9 / 38, 12);
    expect(p[6]).toBeCloseTo(4 / 38, 12);
    expect(p[0] + p[2] + p[3] + p[5] + p[7]).toBe(0);
  });

  it('never draws a node with count 0', () => {
    for (const temperature of [0.25, 1, 50]) {
      const prior = new UsagePrior(SPARSE, temperature);
      const rng = new Rng(9);
      const drawn = new Array<number>(8).fill(0);
      for (let i = 0; i < 20_000; i++) drawn[prior.draw(0, 0, rng.next())]++;
      expect([drawn[0], drawn[2], drawn[3], drawn[5], drawn[7]]).toEqual([0, 0, 0, 0, 0]);
      expect(drawn[1] + drawn[4] + drawn[6]).toBe(20_000);
    }
  });

  it('draws each node about as often as its probability', () => {
    const prior = new UsagePrior(SPARSE);
    const rng = new Rng(3);
    const drawn = new Array<number>(8).fill(0);
    for (let i = 0; i < 20_000; i++) drawn[prior.draw(0, 0, rng.next())]++;
    // Three standard deviations of a binomial share are below 0.011 here.
    expect(Math.abs(drawn[1] / 20_000 - 0.5)).toBeLessThan(0.011);
    expect(Math.abs(drawn[4] / 20_000 - 0.3)).toBeLessThan(0.011);
    expect(Math.abs(drawn[6] / 20_000 - 0.2)).toBeLessThan(0.011);
  });

  it('maps the ends of [0, 1) to the first and last used nodes', () => {
    const prior = new UsagePrior(SPARSE);
    expect(prior.draw(0, 0, 0)).toBe(1);
    expect(prior.draw(0, 0, 1 - 2 ** -32)).toBe(6);
  });

  it('rejects a level without counts and a bad temperature', () => {
    const empty: NodeCounts = { ks: [2], rows: 1, counts: [[[0, 0]]], images: [0] };
    expect(() => new UsagePrior(empty)).toThrow(/no counts in row 0 at level 0/);
    expect(() => new UsagePrior(SPARSE, 0)).toThrow(/invalid temperature 0/);
  });
});

describe('UsagePriorSampler', () => {
  it('draws each image from its own row', () => {
    const sampler = new UsagePriorSampler(new UsagePrior(TWO_ROWS), new Rng(1), [1, 0, 1, 0, 0]);
    const level0 = sampler.select({ level: 0, k: 4, size: 1, batch: 5 }).indices;
    expect(level0[0]).toBe(3);
    expect(level0[2]).toBe(3);
    for (const i of [1, 3, 4]) expect([0, 1]).toContain(level0[i]);
    const level1 = sampler.select({ level: 1, k: 4, size: 2, batch: 5 }).indices;
    expect(Array.from(level1)).toEqual([0, 2, 0, 2, 2]);
  });

  it('rejects a level whose K differs from the prior', () => {
    const sampler = new UsagePriorSampler(new UsagePrior(TWO_ROWS), new Rng(1), [0]);
    expect(() => sampler.select({ level: 0, k: 8, size: 1, batch: 1 })).toThrow(/prior has K 4 at level 0, but the model has K 8/);
    expect(() => sampler.select({ level: 2, k: 4, size: 4, batch: 1 })).toThrow(/at level 2/);
  });
});

describe('DdnModel.sample with a usage prior', () => {
  it('makes latents of used nodes only, per class', () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8, condition: 'class', classCount: 2 }), 1);
    const before = tf.memory().numTensors;
    const labels = Int32Array.from({ length: 40 }, (_, i) => i % 2);
    const { latents, images } = model.sample(40, new Rng(5), 16, { labels }, new UsagePrior(TWO_ROWS));
    expect(tf.memory().numTensors).toBe(before);
    expect(images).toHaveLength(40 * 64);
    latents.forEach((latent, i) => {
      const row = TWO_ROWS.counts[labels[i]];
      expect(row[0][latent[0]], `image ${i} level 0 node ${latent[0]}`).toBeGreaterThan(0);
      expect(row[1][latent[1]], `image ${i} level 1 node ${latent[1]}`).toBeGreaterThan(0);
    });
    model.dispose();
  });

  it('gives latents that decode to the same images', () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8, condition: 'class', classCount: 2 }), 1);
    const condition = { labels: Int32Array.from([0, 1, 1, 0, 1]) };
    const sampled = model.sample(5, new Rng(8), 16, condition, new UsagePrior(TWO_ROWS));
    const decoded = model.decode(sampled.latents, 2, 16, condition);
    expect(decoded.latents).toEqual(sampled.latents);
    expect(Array.from(decoded.images)).toEqual(Array.from(sampled.images));
    model.dispose();
  });

  it('rejects a prior with the wrong number of rows', () => {
    const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8 }), 1);
    expect(() => model.sample(2, new Rng(5), 16, undefined, new UsagePrior(TWO_ROWS))).toThrow(/2 row\(s\), but this model needs 1/);
    model.dispose();
  });
});
