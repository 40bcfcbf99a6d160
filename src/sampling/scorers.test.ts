import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { Classifier, makeClassifierConfig } from '../classifier/cnn.js';
import { trainClassifier } from '../classifier/train.js';
import type { Dataset } from '../data/types.js';
import { resizeArea } from '../model/layers.js';
import { ClassScorer } from './classScorer.js';
import type { Scorer } from './guided.js';
import { presetMask } from './masks.js';
import type { CandidateSet, LevelContext } from './sampler.js';
import {
  ColorizeScorer,
  DenoiseScorer,
  InpaintScorer,
  LUMINANCE_WEIGHTS,
  LowBitScorer,
  ReconstructScorer,
  SuperResolutionScorer,
  quantize,
} from './scorers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Candidates [b, K, s, s, c] offered the way a layer offers them. */
function candidateSetOf(all: tf.Tensor5D): CandidateSet {
  return {
    materialize: () => tf.clone(all),
    squaredDistances: (target) => {
      const distances = tf.tidy(() => tf.mean(tf.square(tf.sub(all, tf.expandDims(target, 1))), [2, 3, 4]));
      const host = distances.dataSync() as Float32Array;
      distances.dispose();
      return host;
    },
  };
}

const BATCH = 2;
const K = 6;
const SIDE = 8;
/** Where the exact candidate is planted, per image. */
const PLANTED = [3, 0];

/**
 * K random candidates per image at `side`, with the clean image averaged
 * down to `side` planted at PLANTED[b]. `clean` [b, S, S, c].
 */
function plant(clean: tf.Tensor4D, side: number, seed: number): tf.Tensor5D {
  return tf.tidy(() => {
    const c = clean.shape[3];
    const random = tf.randomUniform([BATCH, K, side, side, c], -1, 1, 'float32', seed);
    const exact = tf.expandDims(resizeArea(clean, side), 1); // [b, 1, s, s, c]
    const slot = tf.reshape(tf.oneHot(PLANTED, K), [BATCH, K, 1, 1, 1]); // [b, K, 1, 1, 1]
    return tf.add(tf.mul(random, tf.sub(1, slot)), tf.mul(exact, slot)) as tf.Tensor5D;
  });
}

/** Runs `build` in a tidy scope, freeing its temporary tensors but not what the result keeps. */
function tidyBuild<T>(build: () => T): T {
  let result: T | undefined;
  tf.tidy(() => {
    result = build();
  });
  return result as T;
}

/** Index of the best score of every image. */
function best(scores: Float32Array): number[] {
  return Array.from({ length: BATCH }, (_, b) => {
    const row = Array.from(scores.subarray(b * K, (b + 1) * K));
    return row.indexOf(Math.max(...row));
  });
}

interface Case {
  name: string;
  channels: 1 | 3;
  /** Whether the planted image meets the condition exactly at the full side (score 0). */
  exact: boolean;
  /** Builds the scorer from the clean images [b, S, S, c] in [−1, 1]. */
  make: (clean: tf.Tensor4D) => Scorer;
}

const CASES: Case[] = [
  { name: 'reconstruct', channels: 1, exact: true, make: (x) => new ReconstructScorer(x) },
  { name: 'superres ×2', channels: 1, exact: true, make: (x) => tidyBuild(() => new SuperResolutionScorer(resizeArea(x, SIDE / 2))) },
  { name: 'superres ×4', channels: 3, exact: true, make: (x) => tidyBuild(() => new SuperResolutionScorer(resizeArea(x, SIDE / 4))) },
  {
    name: 'colorize',
    channels: 3,
    exact: true,
    make: (x) =>
      tidyBuild(() => new ColorizeScorer(tf.sum(tf.mul(x, tf.tensor1d([...LUMINANCE_WEIGHTS])), 3, true) as tf.Tensor4D)),
  },
  {
    name: 'inpaint',
    channels: 1,
    exact: true,
    make: (x) =>
      tidyBuild(() => {
        // Hidden pixels of the condition hold noise that must be ignored.
        const mask = presetMask('top', SIDE);
        const known = tf.tensor4d(mask, [1, SIDE, SIDE, 1]);
        const noise = tf.randomUniform(x.shape, -1, 1, 'float32', 5);
        const target = tf.add(tf.mul(x, known), tf.mul(noise, tf.sub(1, known))) as tf.Tensor4D;
        return new InpaintScorer(target, mask);
      }),
  },
  {
    name: 'denoise',
    channels: 1,
    exact: false,
    make: (x) => tidyBuild(() => new DenoiseScorer(tf.add(x, tf.randomNormal(x.shape, 0, 0.2, 'float32', 9)) as tf.Tensor4D)),
  },
  { name: 'lowbit', channels: 3, exact: false, make: (x) => tidyBuild(() => new LowBitScorer(quantize(x, 2) as tf.Tensor4D, 2)) },
];

describe.each(CASES)('$name scorer', ({ channels, exact, make }) => {
  it.each([SIDE, SIDE / 2, SIDE / 4])('ranks the planted image first at side %i', (side) => {
    const clean = tf.randomUniform([BATCH, SIDE, SIDE, channels], -1, 1, 'float32', 1) as tf.Tensor4D;
    const scorer = make(clean);
    const candidates = plant(clean, side, 2 + side);
    const before = tf.memory().numTensors;
    const context: LevelContext = { level: 0, k: K, size: side, batch: BATCH };

    const scores = scorer.score(context, candidateSetOf(candidates));
    expect(scores).toHaveLength(BATCH * K);
    expect(best(scores)).toEqual(PLANTED);
    if (exact && side === SIDE) {
      PLANTED.forEach((j, b) => expect(scores[b * K + j]).toBeCloseTo(0, 5));
    }

    // Only the scorer's cache of resized conditions may grow.
    scorer.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
    tf.dispose([clean, candidates]);
  });
});

describe('ClassScorer', () => {
  const size = 8;

  /** Horizontal (class 0) or vertical (class 1) stripes in [0, 1], with a little noise. */
  function stripes(label: number, seed: number): Float32Array {
    const image = new Float32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const on = (label === 0 ? y : x) % 4 < 2;
        image[y * size + x] = (on ? 0.9 : 0.1) + 0.05 * Math.sin(seed * 13 + y * 7 + x * 3);
      }
    }
    return image;
  }

  it('ranks the planted image of the requested class first', () => {
    const count = 64;
    const images = new Float32Array(count * size * size);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % 2;
      images.set(stripes(i % 2, i), i * size * size);
    }
    const data: Dataset = { name: 'stripes', images, labels, count, height: size, width: size, channels: 1 };
    const classifier = new Classifier(makeClassifierConfig({ imageSize: size, imageChannels: 1, classes: 2, width: 4 }), 3);
    trainClassifier(classifier, data, { epochs: 6, batchSize: 16, learningRate: 1e-2, maxShift: 0 });

    for (const requested of [0, 1]) {
      // Candidates of the other class, one of the requested class planted.
      const all = tf.tidy(() => {
        const rows: Float32Array[] = [];
        for (let b = 0; b < BATCH; b++) {
          for (let j = 0; j < K; j++) rows.push(stripes(j === PLANTED[b] ? requested : 1 - requested, 100 + j));
        }
        const host = new Float32Array(rows.length * size * size);
        rows.forEach((r, i) => host.set(r, i * size * size));
        return tf.sub(tf.mul(tf.tensor5d(host, [BATCH, K, size, size, 1]), 2), 1) as tf.Tensor5D;
      });
      const before = tf.memory().numTensors;
      const scorer = new ClassScorer(classifier, requested, BATCH);
      const scores = scorer.score({ level: 0, k: K, size, batch: BATCH }, candidateSetOf(all));
      expect(best(scores)).toEqual(PLANTED);
      expect(tf.memory().numTensors).toBe(before);
      all.dispose();
    }
    classifier.dispose();
  });

  it('rejects a class outside the classifier', () => {
    const classifier = new Classifier(makeClassifierConfig({ imageSize: 8, imageChannels: 1, classes: 3 }));
    expect(() => new ClassScorer(classifier, 3, 1)).toThrow(/invalid class 3: the classifier has classes 0 to 2/);
    expect(() => new ClassScorer(classifier, -1, 1)).toThrow(/invalid class -1/);
    classifier.dispose();
  });
});
