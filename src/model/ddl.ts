/**
 * The Discrete Distribution Layer (DDL): K output nodes turn a feature map
 * into K candidate images; a sampler picks one per image.
 *
 * Nodes are one 1×1 convolution from the node channels to K·c channels
 * without bias, stored as [nodeChannels, K, c]. With leak choice the
 * features split in halves. The first half feeds the nodes and the second a
 * parallel set of K leak convolutions, of which only the picked one runs.
 * The leak output conditions the next block and takes part in no distance
 * or loss.
 * With learning residual every candidate is the node output plus the
 * previous level's picked image, resized bilinearly to this layer's side.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { CandidateSet, LevelContext, Sampler, Selection } from '../sampling/sampler.js';
import { resizeBilinear } from './layers.js';
import { nodeSquaredDistances } from './nodeDistances.js';
import type { ParamStore } from './params.js';

export interface DdlOptions {
  k: number;
  featureChannels: number;
  imageChannels: number;
  leakChoice: boolean;
  learningResidual: boolean;
}

/** One level's result. Tensors belong to the caller. */
export interface DdlOutput {
  /** The picked candidate, [b, h, w, c]. */
  picked: tf.Tensor4D;
  /** The picked leak output, [b, h, w, c], or null without leak choice. */
  leak: tf.Tensor4D | null;
  selection: Selection;
}

export class DiscreteDistributionLayer {
  readonly k: number;
  readonly imageChannels: number;
  /** Node weights, [nodeChannels, K, c]. */
  readonly nodeWeights: tf.Variable;
  /** Leak weights, [leakChannels, K, c], or null. */
  readonly leakWeights: tf.Variable | null;
  private readonly nodeChannels: number;
  private readonly learningResidual: boolean;

  constructor(store: ParamStore, name: string, options: DdlOptions) {
    this.k = options.k;
    this.imageChannels = options.imageChannels;
    this.learningResidual = options.learningResidual;
    const half = Math.floor(options.featureChannels / 2);
    this.nodeChannels = options.leakChoice ? half : options.featureChannels;
    const { k, imageChannels: c } = options;
    this.nodeWeights = store.create(`${name}.nodes`, [this.nodeChannels, k, c], 'he');
    this.leakWeights = options.leakChoice
      ? store.create(`${name}.leak`, [options.featureChannels - half, k, c], 'he')
      : null;
  }

  /** Returns the variables whose slice along axis 1 belongs to one node. */
  nodeVariables(): tf.Variable[] {
    return this.leakWeights ? [this.nodeWeights, this.leakWeights] : [this.nodeWeights];
  }

  /**
   * Runs the layer. `features` [b, h, w, C]; `previous` [b, h', w', c] or null
   * at the first level. Must run inside a tidy scope or gradient function.
   */
  forward(
    features: tf.Tensor4D,
    previous: tf.Tensor4D | null,
    sampler: Sampler,
    level: number,
  ): DdlOutput {
    const [batch, height] = features.shape;
    const c = this.imageChannels;
    const base =
      this.learningResidual && previous !== null ? resizeBilinear(previous, height) : null;

    // The node weights read the first channels of the features and the leak
    // weights the rest. Zero rows stand in for the other part, which is
    // cheaper than slicing the feature map along its last axis.
    const nodeRows = this.paddedRows(this.nodeWeights, 0, features.shape[3]); // [C, K, c]

    // Let the sampler see the candidates (lazily) and pick.
    const candidates = this.candidateSet(features, nodeRows, base);
    const context: LevelContext = { level, k: this.k, size: height, batch };
    const selection = sampler.select(context, candidates);
    const oneHot = tf.oneHot(tf.tensor1d(selection.indices, 'int32'), this.k); // [b, K]

    // Evaluate only the picked node (and leak node) of every image. Two
    // products beat one product and a split along a last axis of size c.
    const output = pickedOutput(features, nodeRows, oneHot); // [b, h, w, c]
    const picked = base === null ? output : (tf.add(output, base) as tf.Tensor4D);
    if (this.leakWeights === null) return { picked, leak: null, selection };
    const leakRows = this.paddedRows(this.leakWeights, this.nodeChannels, features.shape[3]); // [C, K, c]
    return { picked, leak: pickedOutput(features, leakRows, oneHot), selection };
  }

  /** `weights` [rows, K, c] placed at row `offset` of a zero [channels, K, c]. */
  private paddedRows(weights: tf.Variable, offset: number, channels: number): tf.Tensor3D {
    const rows = weights.shape[0] as number;
    if (offset === 0 && rows === channels) return weights as tf.Tensor3D;
    return tf.pad(weights as tf.Tensor3D, [
      [offset, channels - offset - rows],
      [0, 0],
      [0, 0],
    ]);
  }

  private candidateSet(
    nodeFeatures: tf.Tensor4D,
    weights: tf.Tensor3D,
    base: tf.Tensor4D | null,
  ): CandidateSet {
    const [batch, height, width, channels] = nodeFeatures.shape;
    const { k, imageChannels: c } = this;

    // All node outputs at once: a 1×1 convolution as a matrix product.
    const allOutputs = (): tf.Tensor5D => {
      const flat = tf.reshape(nodeFeatures, [batch * height * width, channels]); // [b·h·w, C]
      const out = tf.matMul(flat, tf.reshape(weights, [channels, k * c])); // [b·h·w, K·c]
      const perNode = tf.transpose(tf.reshape(out, [batch, height, width, k, c]), [0, 3, 1, 2, 4]); // [b, K, h, w, c]
      return perNode as tf.Tensor5D;
    };

    return {
      materialize: () =>
        tf.tidy(() => {
          const outputs = allOutputs();
          return base === null ? outputs : (tf.add(outputs, tf.expandDims(base, 1)) as tf.Tensor5D);
        }),
      squaredDistances: (target: tf.Tensor4D) => {
        const distances = tf.tidy(() => {
          // Candidate k minus target equals node output k minus the residual target.
          const residual = base === null ? target : (tf.sub(target, base) as tf.Tensor4D); // [b, h, w, c]
          return nodeSquaredDistances(nodeFeatures, weights, residual); // [b, K]
        });
        const host = distances.dataSync() as Float32Array;
        distances.dispose();
        return host;
      },
    };
  }
}

/**
 * Output of the picked node of each image: features [b, h, w, C] times the
 * weight slice weights[:, index_b, :] ([C, K, c'] weights), selected by a
 * one-hot product so that gradients reach only the picked slices.
 * Returns [b, h, w, c'].
 */
function pickedOutput(features: tf.Tensor4D, weights: tf.Tensor3D, oneHot: tf.Tensor): tf.Tensor4D {
  const [batch, height, width, channels] = features.shape;
  const [, k, c] = weights.shape;
  const byNode = tf.reshape(tf.transpose(weights, [1, 0, 2]), [k, channels * c]); // [K, C·c]
  const perImage = tf.reshape(tf.matMul(oneHot, byNode), [batch, channels, c]); // [b, C, c]
  const flat = tf.reshape(features, [batch, height * width, channels]); // [b, h·w, C]
  return tf.reshape(tf.matMul(flat, perImage), [batch, height, width, c]); // [b, h, w, c]
}
