/** What both paradigms offer to the model facade. */
import type * as tf from '@tensorflow/tfjs-core';

import type { Sampler, Selection } from '../sampling/sampler.js';
import type { ConditionInput } from './condition.js';
import type { DiscreteDistributionLayer } from './ddl.js';

/** One level of a forward pass. */
export interface LevelResult {
  /** The picked image at this level's side, [b, h, w, c]. */
  picked: tf.Tensor4D;
  selection: Selection;
}

export interface ForwardResult {
  /** The final image, [b, S, S, c] in [−1, 1]. */
  image: tf.Tensor4D;
  /** Every level, coarse to fine, [L]. */
  levels: LevelResult[];
}

export interface DdnNetwork {
  /** L. */
  readonly levelCount: number;
  /** The layers that own nodes; several levels may share one. */
  readonly layers: DiscreteDistributionLayer[];
  /** Index into `layers` of the layer that serves each level, [L]. */
  readonly layerOfLevel: number[];
  /**
   * Runs `batch` images through all levels, or the first `maxLevels`.
   * A conditional model needs `condition`. Must run inside a tidy scope or
   * gradient function.
   */
  forward(batch: number, sampler: Sampler, maxLevels?: number, condition?: ConditionInput): ForwardResult;
}
