import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../backend/select.js';
import { makeConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import { Adam } from './adam.js';
import { cloneNode } from './cloneNode.js';
import { computeChunkedGradients, makeSplitPrunes, trainStep } from './step.js';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A small deterministic uniform source for the tests. */
function lcg(seed: number) {
  let state = seed >>> 0;
  return {
    next(): number {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    },
  };
}

function stripes(batch: number, size: number): Float32Array {
  const images = new Float32Array(batch * size * size);
  for (let b = 0; b < batch; b++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        images[(b * size + y) * size + x] = (x + b) % 4 < 2 ? 0.8 : -0.8;
      }
    }
  }
  return images;
}

describe('trainStep', () => {
  it.each(['single-shot', 'recurrence'] as const)('lowers the loss of a %s model', (paradigm) => {
    const config = makeConfig({ paradigm, imageSize: 8, k: 8, levels: 4, channels: 8, chainDropout: 0 });
    const model = new DdnModel(config, 3);
    const optimizer = new Adam(model.params.list(), { learningRate: 3e-3 });
    const counters = makeSplitPrunes(model);
    // Four flat images of different brightness: the coarse levels alone can fit them.
    const images = new Float32Array(4 * 64).map((_, i) => [-0.8, -0.3, 0.3, 0.8][Math.floor(i / 64)]);
    const rng = lcg(1);
    const before = tf.memory().numTensors;
    const first = trainStep(model, optimizer, counters, images, rng);
    expect(tf.memory().numTensors).toBe(before);
    let last = first;
    for (let i = 0; i < 40; i++) last = trainStep(model, optimizer, counters, images, rng);
    expect(first.levelLosses).toHaveLength(4);
    expect(last.loss).toBeLessThan(first.loss * 0.3);
    expect(tf.memory().numTensors).toBe(before);
    // Every recorded win lands in exactly one counter.
    const recorded = counters.reduce((sum, c) => sum + c.total, 0);
    expect(recorded).toBeGreaterThan(0);
    optimizer.dispose();
    model.dispose();
  });

  it('applies chain dropout at the configured rate', () => {
    const config = makeConfig({ imageSize: 4, k: 4, levels: 3, channels: 8, chainDropout: 0.3, splitPrune: 'off' });
    const model = new DdnModel(config, 4);
    const optimizer = new Adam(model.params.list(), { learningRate: 0 });
    const counters = makeSplitPrunes(model);
    expect(counters).toHaveLength(0);
    let dropped = 0;
    let levels = 0;
    const rng = lcg(9);
    // Count dropped levels through the sampler's record of each selection.
    const original = model.network.forward.bind(model.network);
    model.network.forward = (batch, sampler, max) => {
      const result = original(batch, sampler, max);
      for (const level of result.levels) {
        levels++;
        if (level.selection.dropped) dropped++;
      }
      return result;
    };
    for (let i = 0; i < 200; i++) trainStep(model, optimizer, counters, stripes(2, 4), rng);
    expect(levels).toBe(600);
    expect(dropped / levels).toBeGreaterThan(0.25);
    expect(dropped / levels).toBeLessThan(0.35);
    optimizer.dispose();
    model.dispose();
  });
});

describe('trainStep on RGB images', () => {
  it.each(['single-shot', 'recurrence'] as const)('trains a %s model with batch 1', (paradigm) => {
    const config = makeConfig({ paradigm, imageSize: 8, imageChannels: 3, k: 4, levels: 4, channels: 8 });
    const model = new DdnModel(config, 6);
    const optimizer = new Adam(model.params.list(), { learningRate: 1e-2 });
    const counters = makeSplitPrunes(model);
    const image = new Float32Array(8 * 8 * 3).map((_, i) => (i % 3 === 0 ? 0.9 : -0.5));
    const before = tf.memory().numTensors;
    const first = trainStep(model, optimizer, counters, image, lcg(4));
    let last = first;
    for (let i = 0; i < 15; i++) last = trainStep(model, optimizer, counters, image, lcg(5 + i));
    expect(first.levelLosses).toHaveLength(4);
    expect(last.loss).toBeLessThan(first.loss);
    expect(tf.memory().numTensors).toBe(before);
    const { images } = model.sample(2, lcg(1));
    expect(images).toHaveLength(2 * 8 * 8 * 3);
    optimizer.dispose();
    model.dispose();
  });
});

describe('cloneNode', () => {
  it('copies weights and Adam moments of the split node exactly', () => {
    const config = makeConfig({ imageSize: 4, k: 4, levels: 2, channels: 8 });
    const model = new DdnModel(config, 5);
    const optimizer = new Adam(model.params.list(), { learningRate: 1e-2 });
    trainStep(model, optimizer, [], stripes(2, 4), lcg(2));
    const layer = model.network.layers[1];
    const [weights] = layer.nodeVariables();
    const moments = optimizer.momentsOf(weights);
    expect(moments).toBeDefined();
    const sliceOf = (t: tf.Tensor, k: number) =>
      tf.tidy(() => Array.from(tf.slice(t, [0, k, 0], [-1, 1, -1]).dataSync()));
    const otherBefore = sliceOf(weights, 0);
    const secondBefore = sliceOf(moments![1], 2);

    cloneNode(layer.nodeVariables(), optimizer, 2, 3);

    expect(sliceOf(weights, 3)).toEqual(sliceOf(weights, 2));
    expect(sliceOf(moments![0], 3)).toEqual(sliceOf(moments![0], 2));
    expect(sliceOf(moments![1], 3)).toEqual(secondBefore);
    expect(sliceOf(weights, 0)).toEqual(otherBefore);
    expect(secondBefore.some((v) => v !== 0)).toBe(true);
    optimizer.dispose();
    model.dispose();
  });
});

describe('Adam', () => {
  it('leaves no tensor behind but its moments', () => {
    const weights = tf.tidy(() => [tf.variable(tf.ones([3, 2])), tf.variable(tf.zeros([4]))]);
    const before = tf.memory().numTensors;
    const optimizer = new Adam(weights, { learningRate: 0.1 });
    // Two moments per weight and nothing else.
    expect(tf.memory().numTensors).toBe(before + 4);
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(weights);
  });
});

describe('computeChunkedGradients', () => {
  it('averages chunk gradients into the whole-batch gradient', () => {
    const config = makeConfig({ imageSize: 8, k: 4, levels: 3, channels: 8, chainDropout: 0 });
    const model = new DdnModel(config, 8);
    const images = new Float32Array(6 * 64).map((_, i) => Math.sin(i * 0.37));
    const before = tf.memory().numTensors;
    const whole = computeChunkedGradients(model, images, lcg(1), undefined, Infinity);
    const chunked = computeChunkedGradients(model, images, lcg(1), undefined, 4);
    expect(chunked.loss).toBeCloseTo(whole.loss, 5);
    expect(Array.from(chunked.selections[2]!.indices)).toEqual(Array.from(whole.selections[2]!.indices));
    whole.gradients.forEach((g, i) => {
      const h = chunked.gradients[i];
      expect(h === undefined).toBe(g === undefined);
      if (g === undefined || h === undefined) return;
      const a = g.dataSync();
      const b = h.dataSync();
      for (let j = 0; j < a.length; j++) expect(b[j]).toBeCloseTo(a[j], 4);
    });
    tf.dispose([...whole.gradients, ...chunked.gradients].filter((g) => g !== undefined));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
