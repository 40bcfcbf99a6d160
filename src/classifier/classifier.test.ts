import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Rng } from '../data/rng.js';
import type { Dataset } from '../data/types.js';
import { Classifier, makeClassifierConfig, validateClassifierConfig } from './cnn.js';
import { CLASSIFIER_WEIGHTS_FILE, loadClassifier, saveClassifier } from './io.js';
import { accuracy, holdOut, shiftImages, trainClassifier } from './train.js';

const root = mkdtempSync(join(tmpdir(), 'ddn-classifier-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SIZE = 8;

/** 8×8 images of three classes: a bright top row, left column or centre, on a dark ground. */
function shapes(count: number): Dataset {
  const images = new Float32Array(count * SIZE * SIZE);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % 3;
    labels[i] = label;
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        let on = y >= 3 && y < 5 && x >= 3 && x < 5;
        if (label === 0) on = y < 2;
        if (label === 1) on = x < 2;
        images[(i * SIZE + y) * SIZE + x] = on ? 0.9 : 0.05 * ((i + x + y) % 3);
      }
    }
  }
  return { name: 'shapes', images, labels, count, height: SIZE, width: SIZE, channels: 1 };
}

describe('Classifier', () => {
  it('maps [4, 8, 8, 1] images to [4, 3] logits', () => {
    const classifier = new Classifier(makeClassifierConfig({ imageSize: SIZE, imageChannels: 1, classes: 3, width: 4 }));
    const before = tf.memory().numTensors;
    const logits = classifier.logits(tf.zeros([4, SIZE, SIZE, 1]) as tf.Tensor4D);
    expect(logits.shape).toEqual([4, 3]);
    tf.dispose(logits);
    // The zeros input is the only other tensor made here.
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(() => classifier.logits(tf.zeros([1, 4, 4, 1]) as tf.Tensor4D)).toThrow(/expected images \[b, 8, 8, 1\], got \[1, 4, 4, 1\]/);
    classifier.dispose();
  });

  it('rejects invalid configs', () => {
    expect(() => makeClassifierConfig({ imageSize: 12, imageChannels: 1, classes: 3 })).toThrow(/invalid classifier image size 12/);
    expect(() => makeClassifierConfig({ imageSize: 8, imageChannels: 1, classes: 1 })).toThrow(/invalid class count 1/);
    expect(() => validateClassifierConfig({ formatVersion: 9 }, 'x.json')).toThrow(/format version 9 is not supported/);
  });
});

describe('trainClassifier', () => {
  it('learns three shapes and frees every tensor it makes', () => {
    const data = shapes(48);
    const classifier = new Classifier(makeClassifierConfig({ imageSize: SIZE, imageChannels: 1, classes: 3, width: 4 }), 1);
    const before = tf.memory().numTensors;
    const reports = trainClassifier(classifier, data, {
      epochs: 4,
      batchSize: 12,
      learningRate: 1e-2,
      maxShift: 0,
      validation: data,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(reports).toHaveLength(4);
    expect(reports[3].loss).toBeLessThan(reports[0].loss);
    expect(reports[3].validationAccuracy).toBe(1);
    expect(accuracy(classifier, data)).toBe(1);
    classifier.dispose();
  });

  it('rejects data without labels or of another size', () => {
    const classifier = new Classifier(makeClassifierConfig({ imageSize: SIZE, imageChannels: 1, classes: 3 }));
    const { labels: _labels, ...unlabelled } = shapes(6);
    expect(() => trainClassifier(classifier, unlabelled, { epochs: 1 })).toThrow(/have no labels/);
    const other = new Classifier(makeClassifierConfig({ imageSize: 16, imageChannels: 1, classes: 3 }));
    expect(() => trainClassifier(other, shapes(6), { epochs: 1 })).toThrow(/images are 8×8×1, the classifier takes 16×16×1/);
    classifier.dispose();
    other.dispose();
  });
});

describe('saveClassifier and loadClassifier', () => {
  it('round-trip the weights exactly', async () => {
    const classifier = new Classifier(makeClassifierConfig({ imageSize: SIZE, imageChannels: 1, classes: 3, width: 2, classNames: ['a', 'b', 'c'] }), 5);
    const dir = join(root, 'saved');
    await saveClassifier(classifier, dir, { note: 'test' });
    const { classifier: loaded, file } = await loadClassifier(dir);
    expect(file.config).toEqual(classifier.config);
    expect(file.training).toEqual({ note: 'test' });
    const x = tf.randomUniform([2, SIZE, SIZE, 1], -1, 1, 'float32', 1) as tf.Tensor4D;
    const a = classifier.logits(x);
    const b = loaded.logits(x);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    classifier.dispose();
    loaded.dispose();
  });

  it('rejects a missing folder and altered weights', async () => {
    await expect(loadClassifier(join(root, 'none'))).rejects.toThrow(/classifier folder not found/);
    const classifier = new Classifier(makeClassifierConfig({ imageSize: SIZE, imageChannels: 1, classes: 3, width: 2 }));
    const dir = join(root, 'altered');
    await saveClassifier(classifier, dir);
    writeFileSync(join(dir, CLASSIFIER_WEIGHTS_FILE), 'not weights');
    await expect(loadClassifier(dir)).rejects.toThrow(/size or checksum does not match/);
    classifier.dispose();
  });
});

describe('shiftImages', () => {
  it('moves a 4×4 image and fills with −1', () => {
    const image = Float32Array.from({ length: 16 }, (_, i) => i);
    // Draw until a shift is not zero; the fill and layout are what matter.
    const rng = new Rng(3);
    const shifted = image.slice();
    shiftImages(shifted, 1, 4, 1, 1, rng);
    const replay = new Rng(3);
    const dy = replay.int(3) - 1;
    const dx = replay.int(3) - 1;
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 4; x++) {
        const sy = y - dy;
        const sx = x - dx;
        const expected = sy >= 0 && sy < 4 && sx >= 0 && sx < 4 ? image[sy * 4 + sx] : -1;
        expect(shifted[y * 4 + x]).toBe(expected);
      }
    }
  });
});

describe('holdOut', () => {
  it('splits off a seeded tenth without overlap', () => {
    const data = shapes(50);
    const { train, test } = holdOut(data, 0.1, 1);
    expect(test.count).toBe(5);
    expect(train.count).toBe(45);
    expect(train.labels).toHaveLength(45);
    expect(() => holdOut(shapes(1), 0.5, 1)).toThrow(/too few/);
  });
});
