/**
 * Adam (Kingma and Ba, 2015) over a fixed list of variables, with its first
 * and second moments in the open so that Split-and-Prune can clone a node's
 * moments together with its weights, and a checkpoint can store them.
 */
import * as tf from '@tensorflow/tfjs-core';

import { nativeAdamStep } from '../backend/nativeAdam.js';

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export class Adam {
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Number of updates applied so far (t in the paper's bias correction). */
  step = 0;
  /** First moments, one per variable, same shapes. */
  readonly firstMoments: tf.Variable[];
  /** Second moments, one per variable, same shapes. */
  readonly secondMoments: tf.Variable[];

  constructor(
    private readonly variables: tf.Variable[],
    options: AdamOptions,
  ) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.firstMoments = variables.map((v) => zeroVariable(v));
    this.secondMoments = variables.map((v) => zeroVariable(v));
  }

  /**
   * Applies one update; `gradients[i]` belongs to `variables[i]`. A missing
   * gradient (a weight the loss does not reach, such as the last level's leak
   * nodes) leaves that weight and its moments unchanged.
   */
  apply(gradients: (tf.Tensor | undefined)[]): void {
    this.step++;
    const correction1 = 1 - this.beta1 ** this.step;
    const correction2 = 1 - this.beta2 ** this.step;
    const stepSize = (this.learningRate * Math.sqrt(correction2)) / correction1;
    const constants = { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, stepSize };
    tf.tidy(() => {
      this.variables.forEach((variable, i) => {
        const g = gradients[i];
        if (g === undefined || g === null) return;
        // The same step in one native call where the native kernels run.
        if (nativeAdamStep(variable, g, this.firstMoments[i], this.secondMoments[i], constants)) return;
        const m = tf.add(tf.mul(this.firstMoments[i], this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.secondMoments[i], this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        this.firstMoments[i].assign(m);
        this.secondMoments[i].assign(v);
        const update = tf.div(tf.mul(m, stepSize), tf.add(tf.sqrt(v), this.epsilon));
        variable.assign(tf.sub(variable, update));
      });
    });
  }

  /** Returns the moments of `variable`, or undefined when this optimizer does not own it. */
  momentsOf(variable: tf.Variable): [tf.Variable, tf.Variable] | undefined {
    const i = this.variables.indexOf(variable);
    return i < 0 ? undefined : [this.firstMoments[i], this.secondMoments[i]];
  }

  dispose(): void {
    for (const m of [...this.firstMoments, ...this.secondMoments]) m.dispose();
  }
}

/** Creates a non-trainable zero variable shaped like `like`, leaving no temporary tensor. */
function zeroVariable(like: tf.Variable): tf.Variable {
  const zeros = tf.zerosLike(like);
  const variable = tf.variable(zeros, false);
  zeros.dispose();
  return variable;
}
