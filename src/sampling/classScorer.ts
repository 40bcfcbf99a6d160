/**
 * Class guidance: a candidate's score is its log-probability of the
 * requested class under a classifier, so the sampler keeps the candidates
 * the classifier finds most like that class (argmax where reconstruction
 * takes the argmin of a distance).
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Classifier } from '../classifier/cnn.js';
import { DdnError } from '../errors.js';
import { resizeArea, resizeBilinear } from '../model/layers.js';
import type { Scorer } from './guided.js';
import type { CandidateSet, LevelContext } from './sampler.js';
import { flattenCandidates } from './scorers.js';

/** Images sent through the classifier at once, to bound memory when b·K is large. */
const CLASSIFIER_CHUNK = 1024;

export class ClassScorer implements Scorer {
  private readonly labels: Int32Array;

  /**
   * @param classifier Used, not owned: the caller disposes it.
   * @param labels The requested class of every image of the batch, `[b]`,
   *     or one class for all.
   * @param batch b, the number of images the sampler serves.
   * @throws DdnError for a class outside the classifier's range.
   */
  constructor(
    private readonly classifier: Classifier,
    labels: number | ArrayLike<number>,
    batch: number,
  ) {
    const { classes } = classifier.config;
    this.labels =
      typeof labels === 'number' ? new Int32Array(batch).fill(labels) : Int32Array.from(labels);
    if (this.labels.length !== batch) {
      throw new RangeError(`class guidance: expected ${batch} labels, got ${this.labels.length}`);
    }
    for (const label of this.labels) {
      if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
        throw new DdnError(`invalid class ${label}: the classifier has classes 0 to ${classes - 1}`);
      }
    }
  }

  score(context: LevelContext, candidates: CandidateSet): Float32Array {
    const { batch, k } = context;
    const { imageSize: size, imageChannels: channels, classes } = this.classifier.config;
    const all = candidates.materialize(); // [b, K, s, s, c]
    const scores = new Float32Array(batch * k);
    let images: tf.Tensor4D | null = null;
    try {
      if (all.shape[4] !== channels) {
        throw new DdnError(
          `class guidance: the model makes ${all.shape[4]}-channel images, the classifier takes ${channels}`,
        );
      }
      const flat = flattenCandidates(all); // [b·K, s, s, c]
      images = flat;
      const total = batch * k;
      for (let start = 0; start < total; start += CLASSIFIER_CHUNK) {
        const count = Math.min(CLASSIFIER_CHUNK, total - start);
        const chunk = tf.tidy(() => {
          let x = tf.slice(flat, [start, 0, 0, 0], [count, -1, -1, -1]) as tf.Tensor4D; // [n, s, s, c]
          // Coarse layers are enlarged smoothly, finer ones averaged down.
          x = x.shape[1] < size ? resizeBilinear(x, size) : resizeArea(x, size); // [n, S, S, c]
          return this.classifier.logProbabilities(x); // [n, classes]
        });
        const logProbabilities = chunk.dataSync() as Float32Array;
        chunk.dispose();
        for (let i = 0; i < count; i++) {
          const image = Math.floor((start + i) / k);
          scores[start + i] = logProbabilities[i * classes + this.labels[image]];
        }
      }
    } finally {
      images?.dispose();
      all.dispose();
    }
    return scores;
  }

  /** The classifier belongs to the caller, so there is nothing to free. */
  dispose(): void {}
}
