import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Classifier, makeClassifierConfig } from '../classifier/cnn.js';
import { DdnError } from '../errors.js';
import { makeConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import { downsampleImages, meanPsnr } from './degrade.js';
import { type GuideTerm, guidedSample } from './guide.js';
import { presetMask } from './masks.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const SIZE = 8;

/** n images [n, 8, 8, c] in [0, 1] with a smooth pattern. */
function pattern(n: number, channels: 1 | 3): Float32Array {
  return new Float32Array(n * SIZE * SIZE * channels).map((_, i) => 0.5 + 0.4 * Math.sin(i * 0.37));
}

describe.each(['single-shot', 'recurrence'] as const)('guidedSample, %s model', (paradigm) => {
  const model = new DdnModel(makeConfig({ paradigm, imageSize: SIZE, k: 4, levels: 4, channels: 8 }), 3);
  afterAll(() => model.dispose());

  it('greedy reconstruct guidance equals plain reconstruction', () => {
    const targets = pattern(3, 1);
    const plain = model.reconstruct(targets);
    const before = tf.memory().numTensors;
    const guided = guidedSample(model, [{ condition: { task: 'reconstruct', images: targets }, weight: 1 }], {
      n: 3,
      topK: 1,
      batchSize: 2,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(guided.latents.map((l) => Array.from(l))).toEqual(plain.latents.map((l) => Array.from(l)));
    expect(Array.from(guided.images)).toEqual(Array.from(plain.images));
  });

  it('weights 1 and 0 give the samples of the first condition alone', () => {
    const target = pattern(1, 1);
    const alone: GuideTerm[] = [{ condition: { task: 'reconstruct', images: target }, weight: 1 }];
    const paired: GuideTerm[] = [...alone, { condition: { task: 'denoise', images: pattern(1, 1).reverse() }, weight: 0 }];
    const a = guidedSample(model, alone, { n: 4, seed: 5 });
    const b = guidedSample(model, paired, { n: 4, seed: 5 });
    expect(Array.from(b.images)).toEqual(Array.from(a.images));
  });

  it('runs every task and combination without leaking tensors', () => {
    const clean = pattern(1, 1);
    const classifier = new Classifier(makeClassifierConfig({ imageSize: SIZE, imageChannels: 1, classes: 10, width: 2 }));
    const before = tf.memory().numTensors;
    const terms: GuideTerm[] = [
      { condition: { task: 'superres', images: downsampleImages(clean, 1, SIZE, 1, 4), factor: 4 }, weight: 1 },
      { condition: { task: 'inpaint', images: clean, mask: presetMask('top', SIZE) }, weight: 0.5 },
      { condition: { task: 'denoise', images: clean }, weight: 0.5 },
      { condition: { task: 'lowbit', images: clean, bits: 1 }, weight: 0.5 },
      { condition: { task: 'class', label: [1, 2, 3], classifier }, weight: 1 },
    ];
    const result = guidedSample(model, terms, { n: 3, seed: 1, batchSize: 2 });
    expect(result.images).toHaveLength(3 * SIZE * SIZE);
    expect(result.latents).toHaveLength(3);
    expect(tf.memory().numTensors).toBe(before);
    classifier.dispose();
  });
});

describe('guidedSample conditions', () => {
  const gray = new DdnModel(makeConfig({ imageSize: SIZE, k: 4, levels: 3, channels: 8 }), 1);
  const rgb = new DdnModel(makeConfig({ imageSize: SIZE, k: 4, levels: 3, channels: 8, imageChannels: 3 }), 1);
  afterAll(() => {
    gray.dispose();
    rgb.dispose();
  });

  it('colorize on a gray model is an error', () => {
    const run = () => guidedSample(gray, [{ condition: { task: 'colorize', images: pattern(1, 1) }, weight: 1 }], { n: 1 });
    expect(run).toThrow(DdnError);
    expect(run).toThrow(/colorize needs a model that makes RGB images/);
  });

  it('colorize on an RGB model keeps the luminance close', () => {
    const clean = pattern(1, 3);
    const luminance = new Float32Array(SIZE * SIZE).map((_, p) => 0.299 * clean[3 * p] + 0.587 * clean[3 * p + 1] + 0.114 * clean[3 * p + 2]);
    const { images } = guidedSample(rgb, [{ condition: { task: 'colorize', images: luminance }, weight: 1 }], { n: 2 });
    expect(images).toHaveLength(2 * SIZE * SIZE * 3);
  });

  it('a mask of the wrong size is an error', () => {
    const run = () =>
      guidedSample(gray, [{ condition: { task: 'inpaint', images: pattern(1, 1), mask: presetMask('top', 4) }, weight: 1 }], { n: 1 });
    expect(run).toThrow(/the inpainting mask has 16 values, the model needs 8×8 = 64/);
  });

  it('a class out of range is an error', () => {
    const classifier = new Classifier(makeClassifierConfig({ imageSize: SIZE, imageChannels: 1, classes: 10, width: 2 }));
    const run = () => guidedSample(gray, [{ condition: { task: 'class', label: 10, classifier }, weight: 1 }], { n: 1 });
    expect(run).toThrow(/invalid class 10: the classifier has classes 0 to 9/);
    classifier.dispose();
  });

  it('a condition image of the wrong size is an error', () => {
    const run = () => guidedSample(gray, [{ condition: { task: 'superres', images: pattern(1, 1), factor: 2 }, weight: 1 }], { n: 2 });
    expect(run).toThrow(/superres: expected 1 or 2 condition images of 4×4×1, got 64 values/);
  });

  it('all weights 0 is an error', () => {
    const run = () => guidedSample(gray, [{ condition: { task: 'reconstruct', images: pattern(1, 1) }, weight: 0 }], { n: 1 });
    expect(run).toThrow(/at least one condition with a weight above 0/);
  });

  it('greedy super-resolution is at least as consistent as random sampling', () => {
    const clean = pattern(1, 1);
    const low = downsampleImages(clean, 1, SIZE, 1, 2);
    const guided = guidedSample(gray, [{ condition: { task: 'superres', images: low, factor: 2 }, weight: 1 }], { n: 4, topK: 1 });
    const random = guidedSample(gray, [{ condition: { task: 'superres', images: low, factor: 2 }, weight: 1 }], { n: 4, topK: 4 });
    const repeat = (x: Float32Array) => Float32Array.from({ length: x.length * 4 }, (_, i) => x[i % x.length]);
    const consistency = (images: Float32Array) => meanPsnr(downsampleImages(images, 4, SIZE, 1, 2), repeat(low), 4);
    expect(consistency(guided.images)).toBeGreaterThanOrEqual(consistency(random.images));
  });
});
