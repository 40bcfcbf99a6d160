/**
 * One optimizer step: forward with the argmin sampler (and chain dropout),
 * the mean over levels of each level's squared error, gradients, an Adam
 * update, then Split-and-Prune on the host counters.
 */
import * as tf from '@tensorflow/tfjs-core';

import '../backend/registerGradients.js';

import { type ConditionInput, conditionFromTarget } from '../model/condition.js';
import type { DdnModel } from '../model/model.js';
import { ArgminSampler } from '../sampling/basic.js';
import type { RandomSource, Selection } from '../sampling/sampler.js';
import { SplitPrune } from '../splitPrune/index.js';
import type { Adam } from './adam.js';
import { cloneNode } from './cloneNode.js';

export interface StepResult {
  /** Mean over levels of the squared error, the optimised loss. */
  loss: number;
  /** Squared error of every level, [L]. */
  levelLosses: number[];
  /** Split-and-Prune events of this step, one list entry per split. */
  splits: { layer: number; split: number; prune: number }[];
}

/** Makes one Split-and-Prune counter per layer of the model, or none when it is off. */
export function makeSplitPrunes(model: DdnModel): SplitPrune[] {
  const { splitPrune, splitPruneRunnerUp } = model.config;
  if (splitPrune === 'off') return [];
  return model.network.layers.map(
    (layer) => new SplitPrune(layer.k, { rule: splitPrune, runnerUp: splitPruneRunnerUp }),
  );
}

/**
 * Trains on one batch `images` [b, S, S, c] in [−1, 1]. Chain dropout draws
 * from `rng`. Throws when the loss is not finite, naming the level.
 */
export function trainStep(
  model: DdnModel,
  optimizer: Adam,
  splitPrunes: SplitPrune[],
  images: Float32Array,
  rng: RandomSource,
  labels?: Int32Array,
  maxChunk = Infinity,
): StepResult {
  const batchGradients = computeChunkedGradients(model, images, rng, labels, maxChunk);
  return applyGradients(model, optimizer, splitPrunes, batchGradients);
}

/**
 * The gradients of a batch computed in chunks of at most `maxChunk` images
 * and averaged by chunk size, which bounds the memory one backward pass
 * keeps (a recurrence model keeps every level's activations until the
 * gradients are done). Chain dropout decides per chunk.
 */
export function computeChunkedGradients(
  model: DdnModel,
  images: Float32Array,
  rng: RandomSource,
  labels: Int32Array | undefined,
  maxChunk: number,
): BatchGradients {
  const imageLength = model.imageLength;
  const batch = images.length / imageLength;
  if (batch <= maxChunk) return computeGradients(model, images, rng, labels);

  const chunkCount = Math.ceil(batch / maxChunk);
  let total: BatchGradients | null = null;
  for (let i = 0; i < chunkCount; i++) {
    const start = Math.round((i * batch) / chunkCount);
    const end = Math.round(((i + 1) * batch) / chunkCount);
    const share = (end - start) / batch;
    const part = computeGradients(
      model,
      images.subarray(start * imageLength, end * imageLength),
      rng,
      labels?.subarray(start, end),
    );
    const scaled = part.gradients.map((g) => (g === undefined ? undefined : tf.tidy(() => tf.mul(g, share))));
    tf.dispose(part.gradients.filter((g) => g !== undefined));
    if (total === null) {
      total = { ...part, loss: part.loss * share, levelLosses: part.levelLosses.map((l) => l * share), gradients: scaled };
      continue;
    }
    const previous: BatchGradients = total;
    const summed = previous.gradients.map((g, j) => {
      const h = scaled[j];
      if (g === undefined) return h;
      if (h === undefined) return g;
      const sum = tf.add(g, h);
      g.dispose();
      h.dispose();
      return sum;
    });
    total = {
      loss: previous.loss + part.loss * share,
      levelLosses: previous.levelLosses.map((l, j) => l + part.levelLosses[j]! * share),
      gradients: summed,
      selections: previous.selections.map((selection, level) => joinSelections(selection, part.selections[level]!)),
    };
  }
  return total as BatchGradients;
}

/** Joins one level's picks of two chunks in batch order, marked dropped when either chunk was. */
function joinSelections(a: Selection, b: Selection): Selection {
  const join = <T extends Int32Array | Float32Array>(x: T | undefined, y: T | undefined, make: (n: number) => T) => {
    if (x === undefined || y === undefined) return undefined;
    const out = make(x.length + y.length);
    out.set(x);
    out.set(y, x.length);
    return out;
  };
  return {
    indices: join(a.indices, b.indices, (n) => new Int32Array(n)) as Int32Array,
    runnerUps: join(a.runnerUps, b.runnerUps, (n) => new Int32Array(n)),
    distances: join(a.distances, b.distances, (n) => new Float32Array(n)),
    dropped: Boolean(a.dropped || b.dropped),
  };
}

/** The forward and backward pass of one batch, before any update. */
export interface BatchGradients {
  /** Mean over levels of the squared error. */
  loss: number;
  /** Squared error of every level, [L]. */
  levelLosses: number[];
  /**
   * One gradient per variable of `model.params.list()`, in that order, or
   * undefined where the loss does not reach the variable. Owned by whoever
   * passes them to `applyGradients`, which disposes them.
   */
  gradients: (tf.Tensor | undefined)[];
  /** What the sampler picked at every level, [L]. */
  selections: Selection[];
}

/**
 * Runs the forward pass with the argmin sampler (chain dropout from `rng`)
 * and returns the loss gradients without changing any weight.
 */
export function computeGradients(
  model: DdnModel,
  images: Float32Array,
  rng: RandomSource,
  labels?: Int32Array,
): BatchGradients {
  const { imageSize: S, imageChannels: c, chainDropout } = model.config;
  const batch = images.length / (S * S * c);
  const target = tf.tensor4d(images, [batch, S, S, c]);
  const condition = makeTrainingCondition(model, target, labels);
  const sampler = new ArgminSampler(target, { chainDropout, rng });
  const variables = model.params.list();
  let selections: Selection[] = [];
  let levelLossTensor: tf.Tensor1D | null = null;

  try {
    const { value, grads } = tf.variableGrads(() => {
      const result = model.network.forward(batch, sampler, undefined, condition);
      selections = result.levels.map((level) => level.selection);
      const losses = result.levels.map((level) =>
        tf.mean(tf.squaredDifference(level.picked, sampler.targetAt(level.picked.shape[1]))),
      );
      levelLossTensor = tf.keep(tf.stack(losses) as tf.Tensor1D); // [L]
      return tf.mean(levelLossTensor) as tf.Scalar;
    }, variables);

    const levelLosses = Array.from((levelLossTensor as unknown as tf.Tensor1D).dataSync());
    const loss = value.dataSync()[0];
    value.dispose();
    const gradients = variables.map((v) => grads[v.name]);
    return { loss, levelLosses, gradients, selections };
  } finally {
    tf.dispose(levelLossTensor ?? []);
    condition?.image?.dispose();
    sampler.dispose();
    target.dispose();
  }
}

/**
 * Applies one batch's gradients: checks the losses, takes an Adam step,
 * then runs Split-and-Prune on the recorded picks. Disposes the gradients.
 * Throws NonFiniteLossError, leaving the weights unchanged, when a level's
 * loss is not finite.
 */
export function applyGradients(
  model: DdnModel,
  optimizer: Adam,
  splitPrunes: SplitPrune[],
  batchGradients: BatchGradients,
): StepResult {
  const { loss, levelLosses, gradients, selections } = batchGradients;
  try {
    const bad = levelLosses.findIndex((l) => !Number.isFinite(l));
    if (bad >= 0) {
      throw new NonFiniteLossError(bad, model.network.layerOfLevel[bad]!, levelLosses[bad]!);
    }
    optimizer.apply(gradients);
  } finally {
    tf.dispose(gradients.filter((g) => g !== undefined));
  }
  const splits = applySplitPrune(model, optimizer, splitPrunes, selections);
  return { loss, levelLosses, splits };
}

/** Makes the condition of a training batch: its labels, or an image made from the targets. */
function makeTrainingCondition(
  model: DdnModel,
  target: tf.Tensor4D,
  labels: Int32Array | undefined,
): ConditionInput | undefined {
  const kind = model.config.condition;
  if (kind === 'none') return undefined;
  if (kind === 'class') {
    model.checkCondition(target.shape[0], { labels });
    return { labels };
  }
  return { image: conditionFromTarget(kind, target) };
}

/**
 * Raised when a level's loss is NaN or infinite; the weights stay as they
 * were. Level and layer count from 0, as in StepResult.levelLosses.
 */
export class NonFiniteLossError extends Error {
  constructor(
    readonly level: number,
    readonly layer: number,
    readonly value: number,
  ) {
    super(`loss of level ${level} (layer ${layer}, both counted from 0) is ${value}`);
    this.name = 'NonFiniteLossError';
  }
}

/**
 * Records this step's winners per layer (pooling the levels that share a
 * layer, skipping levels that chain dropout randomised) and applies at most
 * one split per layer.
 */
function applySplitPrune(
  model: DdnModel,
  optimizer: Adam,
  splitPrunes: SplitPrune[],
  selections: Selection[],
): StepResult['splits'] {
  if (splitPrunes.length === 0) return [];
  selections.forEach((selection, level) => {
    if (selection.dropped) return;
    const layer = model.network.layerOfLevel[level];
    splitPrunes[layer].record(selection.indices, selection.runnerUps, selection.distances);
  });
  const events: StepResult['splits'] = [];
  splitPrunes.forEach((counter, layer) => {
    const event = counter.step();
    if (event === null) return;
    cloneNode(model.network.layers[layer].nodeVariables(), optimizer, event.split, event.prune);
    events.push({ layer, ...event });
  });
  return events;
}
