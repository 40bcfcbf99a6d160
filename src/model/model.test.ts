import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { ArgminSampler } from '../sampling/basic.js';
import type { CandidateSet, LevelContext, Selection } from '../sampling/sampler.js';
import { bitsPerImage, levelKs, levelSizes, makeConfig } from './config.js';
import { DdnModel } from './model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A sampler that records every candidate set it is offered. */
class RecordingArgmin extends ArgminSampler {
  seen: { context: LevelContext; candidates: Float32Array; selection: Selection }[] = [];

  override select(context: LevelContext, candidates: CandidateSet): Selection {
    const selection = super.select(context, candidates);
    const all = candidates.materialize();
    this.seen.push({ context, candidates: all.dataSync() as Float32Array, selection });
    all.dispose();
    return selection;
  }
}

describe('pyramid config', () => {
  it('spreads 10 levels over 6 scales of a 32×32 image', () => {
    const config = makeConfig({ imageSize: 32, levels: 10, k: 64 });
    const sizes = levelSizes(config);
    expect(sizes).toHaveLength(10);
    expect(new Set(sizes)).toEqual(new Set([1, 2, 4, 8, 16, 32]));
    expect(sizes).toEqual([...sizes].sort((a, b) => a - b));
    expect(levelKs(config).every((k) => k === 64)).toBe(true);
    expect(bitsPerImage(config)).toBe(60);
  });
});

describe.each(['single-shot', 'recurrence'] as const)('%s model', (paradigm) => {
  it('picks the candidate nearest to the target at every level', () => {
    const config = makeConfig({ paradigm, imageSize: 8, k: 4, levels: 4, channels: 8 });
    const model = new DdnModel(config, 1);
    const before = tf.memory().numTensors;
    const target = tf.randomUniform([3, 8, 8, 1], -1, 1, 'float32', 7) as tf.Tensor4D;
    const sampler = new RecordingArgmin(target);

    tf.tidy(() => {
      const result = model.network.forward(3, sampler);
      expect(result.image.shape).toEqual([3, 8, 8, 1]);
      expect(result.levels).toHaveLength(4);
    });
    expect(sampler.seen).toHaveLength(4);
    for (const { context, candidates, selection } of sampler.seen) {
      const t = sampler.targetAt(context.size).dataSync();
      const pixels = context.size * context.size;
      for (let b = 0; b < context.batch; b++) {
        const errors = Array.from({ length: context.k }, (_, j) => {
          let sum = 0;
          for (let p = 0; p < pixels; p++) {
            const d = candidates[(b * context.k + j) * pixels + p] - t[b * pixels + p];
            sum += d * d;
          }
          return sum / pixels;
        });
        const best = errors.indexOf(Math.min(...errors));
        expect(selection.indices[b]).toBe(best);
        expect(selection.distances?.[b]).toBeCloseTo(errors[best], 5);
      }
    }
    sampler.dispose();
    target.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('decodes a latent to the image that reconstruction produced', () => {
    const config = makeConfig({ paradigm, imageSize: 8, k: 4, levels: 3, channels: 8, imageChannels: 3 });
    const model = new DdnModel(config, 2);
    const images = new Float32Array(2 * 8 * 8 * 3).map((_, i) => (i % 7) / 7);
    const before = tf.memory().numTensors;
    const rec = model.reconstruct(images);
    const dec = model.decode(rec.latents);
    expect(rec.latents).toHaveLength(2);
    expect(rec.latents[0]).toHaveLength(3);
    expect(Array.from(dec.images)).toEqual(Array.from(rec.images));
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('pyramid with fewer levels than scales', () => {
  it('still ends at the full image side', () => {
    expect(levelSizes(makeConfig({ imageSize: 32, levels: 3 }))).toEqual([1, 8, 32]);
    expect(levelSizes(makeConfig({ imageSize: 32, levels: 1 }))).toEqual([32]);
  });
});
