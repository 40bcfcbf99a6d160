/**
 * Training and evaluation of the classifier: softmax cross-entropy, Adam,
 * and random shifts of a few pixels as the only augmentation.
 */
import * as tf from '@tensorflow/tfjs-core';

import '../backend/registerGradients.js';

import { Batcher } from '../data/batcher.js';
import { Rng } from '../data/rng.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { Adam } from '../train/adam.js';
import type { Classifier } from './cnn.js';

export interface ClassifierTrainOptions {
  epochs: number;
  batchSize?: number;
  learningRate?: number;
  /** Fixes the batch order and the shifts. */
  seed?: number;
  /** Largest random shift in pixels along each axis; 0 turns it off. */
  maxShift?: number;
  /**
   * Final epochs that run at a tenth of the learning rate. Default: a
   * quarter of the epochs, rounded, and none for a single epoch.
   */
  decayEpochs?: number;
  /** Data scored after every epoch, such as a test split. */
  validation?: Dataset;
  /** Called after every `logEvery` steps with the mean loss since the last call. */
  onSteps?: (report: { epoch: number; step: number; steps: number; loss: number }) => void;
  logEvery?: number;
  onEpoch?: (report: EpochReport) => void;
}

export interface EpochReport {
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Accuracy on `validation`, when given. */
  validationAccuracy?: number;
  seconds: number;
}

/**
 * Trains `classifier` in place on the labelled `data`.
 *
 * @returns one report per epoch.
 * @throws DdnError when the data has no labels or does not fit the classifier.
 */
export function trainClassifier(
  classifier: Classifier,
  data: Dataset,
  options: ClassifierTrainOptions,
): EpochReport[] {
  checkDataset(classifier, data);
  if (options.validation !== undefined) checkDataset(classifier, options.validation);
  const { epochs, batchSize = 64, learningRate = 1e-3, seed = 0, maxShift = 2, logEvery = 50 } = options;
  const decayEpochs = options.decayEpochs ?? (epochs > 1 ? Math.max(1, Math.round(epochs / 4)) : 0);
  const { imageSize: size, imageChannels: c, classes } = classifier.config;
  const rng = new Rng(seed);
  const batcher = new Batcher(data, batchSize, rng);
  const variables = classifier.variables();
  let optimizer = makeAdam(variables, learningRate);
  const stepsPerEpoch = Math.ceil(data.count / batchSize);
  const reports: EpochReport[] = [];

  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      if (epoch === epochs - decayEpochs + 1 && epoch > 1) {
        optimizer = lowerLearningRate(optimizer, variables, learningRate / 10);
      }
      const started = Date.now();
      let epochLoss = 0;
      let windowLoss = 0;
      let windowSteps = 0;
      for (let step = 1; step <= stepsPerEpoch; step++) {
        const batch = batcher.next();
        shiftImages(batch.images, batchSize, size, c, maxShift, rng);
        const loss = trainStep(classifier, optimizer, variables, batch.images, batch.labels!, [
          batchSize,
          size,
          size,
          c,
        ], classes);
        if (!Number.isFinite(loss)) {
          throw new DdnError(`classifier training diverged at epoch ${epoch}, step ${step} (loss ${loss}); lower --lr`);
        }
        epochLoss += loss;
        windowLoss += loss;
        windowSteps++;
        if (options.onSteps !== undefined && (step % logEvery === 0 || step === stepsPerEpoch)) {
          options.onSteps({ epoch, step, steps: stepsPerEpoch, loss: windowLoss / windowSteps });
          windowLoss = 0;
          windowSteps = 0;
        }
      }
      const report: EpochReport = {
        epoch,
        loss: epochLoss / stepsPerEpoch,
        seconds: (Date.now() - started) / 1000,
      };
      if (options.validation !== undefined) {
        report.validationAccuracy = accuracy(classifier, options.validation);
      }
      reports.push(report);
      options.onEpoch?.(report);
    }
  } finally {
    optimizer.dispose();
  }
  return reports;
}

function makeAdam(variables: tf.Variable[], learningRate: number): Adam {
  return new Adam(variables, { learningRate });
}

/** Replaces `optimizer` by one at `learningRate` that continues from its moments and step count. */
function lowerLearningRate(optimizer: Adam, variables: tf.Variable[], learningRate: number): Adam {
  const lowered = makeAdam(variables, learningRate);
  lowered.step = optimizer.step;
  variables.forEach((_, i) => {
    lowered.firstMoments[i].assign(optimizer.firstMoments[i]);
    lowered.secondMoments[i].assign(optimizer.secondMoments[i]);
  });
  optimizer.dispose();
  return lowered;
}

/** One Adam step on a batch; returns the mean cross-entropy. */
function trainStep(
  classifier: Classifier,
  optimizer: Adam,
  variables: tf.Variable[],
  images: Float32Array,
  labels: Int32Array,
  shape: [number, number, number, number],
  classes: number,
): number {
  const { value, grads } = tf.variableGrads(() => {
    const x = tf.tensor4d(images, shape); // [b, S, S, c]
    const target = tf.oneHot(tf.tensor1d(labels, 'int32'), classes); // [b, classes]
    const logProbabilities = tf.logSoftmax(classifier.logits(x)); // [b, classes]
    return tf.neg(tf.mean(tf.sum(tf.mul(target, logProbabilities), 1))) as tf.Scalar;
  }, variables);
  const gradients = variables.map((v) => grads[v.name]);
  try {
    optimizer.apply(gradients);
  } finally {
    tf.dispose(gradients.filter((g) => g !== undefined));
  }
  const loss = value.dataSync()[0];
  value.dispose();
  return loss;
}

/** Share of the labelled `data` that the classifier puts in the right class. */
export function accuracy(classifier: Classifier, data: Dataset): number {
  checkDataset(classifier, data);
  const predictions = classifier.predict(data.images);
  let hits = 0;
  for (let i = 0; i < data.count; i++) {
    if (predictions[i] === data.labels![i]) hits++;
  }
  return hits / data.count;
}

/**
 * Splits a dataset into a training part and a held-out part of about
 * `fraction` of the images, chosen by a seeded shuffle.
 */
export function holdOut(data: Dataset, fraction: number, seed: number): { train: Dataset; test: Dataset } {
  if (!(fraction > 0 && fraction < 1)) {
    throw new DdnError(`invalid held-out fraction ${fraction}: expected a number in (0, 1)`);
  }
  const testCount = Math.max(1, Math.round(data.count * fraction));
  if (testCount >= data.count) {
    throw new DdnError(`${data.name}: ${data.count} images are too few to hold some out for testing`);
  }
  const order = Int32Array.from({ length: data.count }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pick = (indices: Int32Array, name: string): Dataset => {
    const length = data.height * data.width * data.channels;
    const images = new Float32Array(indices.length * length);
    const labels = new Int32Array(indices.length);
    indices.forEach((index, i) => {
      images.set(data.images.subarray(index * length, (index + 1) * length), i * length);
      labels[i] = data.labels![index];
    });
    return { ...data, name, images, labels, count: indices.length };
  };
  return {
    test: pick(order.subarray(0, testCount), `${data.name} (held out)`),
    train: pick(order.subarray(testCount), data.name),
  };
}

/**
 * Moves each image [S, S, c] of a batch in [−1, 1] by a random whole number
 * of pixels in [−maxShift, maxShift] along both axes, filling with −1 (black).
 */
export function shiftImages(
  images: Float32Array,
  batch: number,
  size: number,
  channels: number,
  maxShift: number,
  rng: Rng,
): void {
  if (maxShift <= 0) return;
  const length = size * size * channels;
  const copy = new Float32Array(length);
  for (let b = 0; b < batch; b++) {
    const dy = rng.int(2 * maxShift + 1) - maxShift;
    const dx = rng.int(2 * maxShift + 1) - maxShift;
    if (dx === 0 && dy === 0) continue;
    const image = images.subarray(b * length, (b + 1) * length);
    copy.set(image);
    image.fill(-1);
    for (let y = Math.max(0, dy); y < Math.min(size, size + dy); y++) {
      const from = ((y - dy) * size + Math.max(0, -dx)) * channels;
      const to = (y * size + Math.max(0, dx)) * channels;
      const count = (size - Math.abs(dx)) * channels;
      image.set(copy.subarray(from, from + count), to);
    }
  }
}

function checkDataset(classifier: Classifier, data: Dataset): void {
  const { imageSize: size, imageChannels: c, classes } = classifier.config;
  if (data.labels === undefined) {
    throw new DdnError(`${data.name}: the images have no labels; a classifier needs labelled data`);
  }
  if (data.height !== size || data.width !== size || data.channels !== c) {
    throw new DdnError(
      `${data.name}: images are ${data.height}×${data.width}×${data.channels}, the classifier takes ${size}×${size}×${c}`,
    );
  }
  for (let i = 0; i < data.count; i++) {
    const label = data.labels[i];
    if (!(label >= 0 && label < classes)) {
      throw new DdnError(`${data.name}: label ${label} of image ${i} is outside [0, ${classes})`);
    }
  }
}
