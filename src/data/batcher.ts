import { DdnError } from '../errors.js';
import type { RandomSource } from './rng.js';
import type { Dataset } from './types.js';

/** One training batch. */
export interface Batch {
  /** [batchSize, height, width, channels], values scaled to [-1, 1]. */
  images: Float32Array;
  /** [batchSize] class labels, when the dataset has labels. */
  labels?: Int32Array;
  /** [batchSize] dataset index of each image. */
  indices: Int32Array;
}

/**
 * Draws batches from a dataset in a new random order every epoch.
 *
 * Pixel values are mapped from [0, 1] to [-1, 1] (v * 2 - 1), the range
 * the model trains in. Each epoch is a Fisher-Yates shuffle of all indices
 * drawn from `rng`. A batch that reaches the end of an epoch is completed
 * from the next epoch. So every batch has `batchSize` images, and every
 * epoch still visits each image exactly once.
 * The price is that a batch at an epoch boundary, or any batch larger than
 * the dataset, may contain an image twice.
 */
export class Batcher {
  /** Number of epochs finished so far. */
  completedEpochs = 0;

  private readonly order: Int32Array;
  private position: number;
  private readonly imageLength: number;

  constructor(
    readonly dataset: Dataset,
    readonly batchSize: number,
    private readonly rng: RandomSource,
  ) {
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      throw new DdnError(`Batcher: invalid batchSize ${batchSize}; expected a positive integer`);
    }
    if (dataset.count < 1) {
      throw new DdnError(`Batcher: dataset '${dataset.name}' contains no images`);
    }
    this.imageLength = dataset.height * dataset.width * dataset.channels;
    this.order = Int32Array.from({ length: dataset.count }, (_, index) => index);
    // The first call to next() shuffles, so constructing draws no numbers.
    this.position = dataset.count;
  }

  /** Returns the next batch, starting a new shuffled epoch when needed. */
  next(): Batch {
    const { batchSize, dataset, imageLength } = this;
    const images = new Float32Array(batchSize * imageLength);
    const indices = new Int32Array(batchSize);
    const labels = dataset.labels === undefined ? undefined : new Int32Array(batchSize);

    for (let slot = 0; slot < batchSize; slot++) {
      if (this.position === dataset.count) this.startEpoch();
      const index = this.order[this.position++]!;
      if (this.position === dataset.count) this.completedEpochs++;
      indices[slot] = index;
      if (labels !== undefined) labels[slot] = dataset.labels![index]!;

      // Copy the image while scaling [0, 1] to [-1, 1].
      const source = index * imageLength;
      const target = slot * imageLength;
      for (let i = 0; i < imageLength; i++) {
        images[target + i] = dataset.images[source + i]! * 2 - 1;
      }
    }
    return labels === undefined ? { images, indices } : { images, labels, indices };
  }

  /**
   * Advances past `batchCount` batches without building them, drawing the
   * same random numbers as that many next() calls. Resuming a run can use
   * this to reach the batch order of a given step cheaply.
   */
  skip(batchCount: number): void {
    if (!Number.isSafeInteger(batchCount) || batchCount < 0) {
      throw new DdnError(
        `Batcher.skip: invalid batchCount ${batchCount}; expected a non-negative integer`,
      );
    }
    for (let draw = 0; draw < batchCount * this.batchSize; draw++) {
      if (this.position === this.dataset.count) this.startEpoch();
      this.position++;
      if (this.position === this.dataset.count) this.completedEpochs++;
    }
  }

  private startEpoch(): void {
    for (let i = this.order.length - 1; i > 0; i--) {
      // min() guards against a source that returns exactly 1.
      const j = Math.min(Math.floor(this.rng.next() * (i + 1)), i);
      const swap = this.order[i]!;
      this.order[i] = this.order[j]!;
      this.order[j] = swap;
    }
    this.position = 0;
  }
}
