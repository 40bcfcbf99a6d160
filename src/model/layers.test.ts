import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';

import { addIntoChannels, positionEmbedding, resizeArea, resizeBilinear } from './layers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('addIntoChannels', () => {
  it('adds a 2-channel map into channels 3 and 4 of 5', () => {
    const x = tf.ones([1, 2, 2, 5]) as tf.Tensor4D;
    const extra = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 2, 2]);
    const y = addIntoChannels(x, extra, 3).arraySync()[0];
    expect(y[0][0]).toEqual([1, 1, 1, 2, 3]);
    expect(y[1][1]).toEqual([1, 1, 1, 8, 9]);
  });
});

describe('learning-residual resizing', () => {
  it('upsamples a 2×2 image bilinearly to 4×4 with aligned centres', () => {
    const image = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
    const up = tf.reshape(resizeBilinear(image, 4), [4, 4]).arraySync() as number[][];
    expect(up[0][0]).toBeCloseTo(0, 6);
    expect(up[0][1]).toBeCloseTo(0.25, 6);
    expect(up[3][3]).toBeCloseTo(3, 6);
    expect(up[1][1]).toBeCloseTo(0.75, 6);
  });

  it('downsamples targets by area averaging', () => {
    const image = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
    expect(Array.from(resizeArea(image, 2).dataSync())).toEqual([3.5, 5.5, 11.5, 13.5]);
  });
});

describe('positionEmbedding', () => {
  it('puts sines, cosines and four ramps in the channels', () => {
    const e = positionEmbedding(4, 8).arraySync()[0];
    // Pixel 0: sin(0) = 0, cos(0) = 1, then ramps x, y, −x, −y at the corner (−1, −1).
    expect(e[0][0].slice(0, 4)).toEqual([0, 1, 0, 1]);
    expect(e[0][0][4]).toBeCloseTo(0 - 1, 6);
    expect(e[0][0][7]).toBeCloseTo(1 + 1, 6);
    // Pixel 5 = (y 1, x 1): channel 0 is sin(5).
    expect(e[1][1][0]).toBeCloseTo(Math.sin(5), 5);
  });
});
