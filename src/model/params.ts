/**
 * Named trainable variables. Every layer asks the store for its weights by
 * name, so saving, loading, the optimizer and Split-and-Prune all see one
 * flat, ordered list.
 */
import * as tf from '@tensorflow/tfjs-core';

import { DdnError } from '../errors.js';

export type Initializer = 'he' | 'zeros' | 'ones' | 'small';

export class ParamStore {
  private readonly variables = new Map<string, tf.Variable>();
  private nextSeed: number;

  /** `seed` fixes the initial weights: the same seed gives the same model. */
  constructor(seed: number) {
    this.nextSeed = seed >>> 0;
  }

  /**
   * Creates a variable. 'he' draws N(0, 2 / fanIn) with fanIn the product of
   * all but the last dimension; 'small' uses a tenth of that spread.
   */
  create(name: string, shape: number[], init: Initializer): tf.Variable {
    if (this.variables.has(name)) {
      throw new Error(`parameter '${name}' is created twice`);
    }
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const seed = this.nextSeed++;
    const value = tf.tidy(() => {
      switch (init) {
        case 'zeros':
          return tf.zeros(shape);
        case 'ones':
          return tf.ones(shape);
        case 'he':
        case 'small': {
          const std = Math.sqrt(2 / fanIn) * (init === 'small' ? 0.1 : 1);
          return tf.truncatedNormal(shape, 0, std, 'float32', seed);
        }
      }
    });
    // tfjs variable names are global, so the store keeps its own names.
    const variable = tf.variable(value, true);
    value.dispose();
    this.variables.set(name, variable);
    return variable;
  }

  get(name: string): tf.Variable {
    const variable = this.variables.get(name);
    if (variable === undefined) throw new Error(`unknown parameter '${name}'`);
    return variable;
  }

  names(): string[] {
    return [...this.variables.keys()];
  }

  list(): tf.Variable[] {
    return [...this.variables.values()];
  }

  /** Total number of scalar weights. */
  count(): number {
    return this.list().reduce((sum, v) => sum + v.size, 0);
  }

  /** Copies the values of `weights` into the variables, checking every shape. */
  assign(weights: Map<string, { shape: number[]; data: Float32Array }>, source: string): void {
    for (const [name, variable] of this.variables) {
      const w = weights.get(name);
      if (w === undefined) {
        throw new DdnError(`${source}: weight '${name}' is missing`);
      }
      if (w.shape.join(',') !== variable.shape.join(',')) {
        throw new DdnError(
          `${source}: weight '${name}' has shape [${w.shape}], expected [${variable.shape}]`,
        );
      }
      tf.tidy(() => variable.assign(tf.tensor(w.data, variable.shape)));
    }
    for (const name of weights.keys()) {
      if (!this.variables.has(name)) {
        throw new DdnError(`${source}: unexpected weight '${name}' for this config`);
      }
    }
  }

  dispose(): void {
    for (const variable of this.variables.values()) variable.dispose();
    this.variables.clear();
  }
}
