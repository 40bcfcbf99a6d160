/**
 * A training run: model, optimizer, Split-and-Prune counters, data order and
 * random state, advanced one step at a time, checkpointed and resumed so
 * that a resumed run continues exactly as if it had never stopped (same
 * backend, same seed).
 */
import * as tf from '@tensorflow/tfjs-core';

import { Batcher } from '../data/batcher.js';
import { Rng } from '../data/rng.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import {
  type CheckpointOptions,
  type SavedCheckpoint,
  readCheckpoint,
  saveCheckpoint,
} from '../io/checkpoint.js';
import { type ModelConfig, validateConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import { SplitPrune, type SplitPruneState } from '../splitPrune/index.js';
import { Adam } from './adam.js';
import { type StepResult, makeSplitPrunes, trainStep } from './step.js';

export interface TrainOptions {
  /** Images per step. */
  batchSize: number;
  learningRate: number;
  /** Fixes the initial weights, the data order and every random pick. */
  seed: number;
}

/** The JSON part of a checkpoint. */
export interface RunState {
  step: number;
  options: TrainOptions;
  dataset: { name: string; count: number };
  rng: number[];
  splitPrunes: SplitPruneState[];
  /** Seconds spent training before this checkpoint, over all sessions. */
  seconds: number;
  /**
   * tfjs backend of the session that wrote the checkpoint. Resuming on
   * another backend continues with slightly different losses.
   */
  backend?: string;
}

/**
 * Images per backward pass of a recurrence model. Its pass keeps every
 * level's UNet activations: 8 images of 32×32 took about 2.3 GiB of wasm
 * memory, and 32 exceeded what wasm can address.
 */
const RECURRENCE_CHUNK = 8;

export class TrainingRun {
  step = 0;
  /** Seconds of training in earlier sessions of this run. */
  secondsBefore = 0;
  /** The state this run was resumed from; undefined for a new run. */
  resumedFrom?: RunState;

  private constructor(
    readonly model: DdnModel,
    readonly optimizer: Adam,
    readonly splitPrunes: SplitPrune[],
    readonly options: TrainOptions,
    private readonly dataset: Dataset,
    private readonly batcher: Batcher,
    private readonly rng: Rng,
  ) {}

  /** Starts a new run with fresh weights. */
  static create(config: ModelConfig, dataset: Dataset, options: TrainOptions): TrainingRun {
    checkDataset(config, dataset);
    validateTrainOptions(options);
    const model = new DdnModel(config, options.seed);
    const optimizer = new Adam(model.params.list(), { learningRate: options.learningRate });
    return new TrainingRun(
      model,
      optimizer,
      makeSplitPrunes(model),
      options,
      dataset,
      new Batcher(dataset, options.batchSize, new Rng(options.seed ^ 0x5bd1e995)),
      new Rng(options.seed),
    );
  }

  /**
   * Continues the run checkpointed in `dir` (from `file`, by default the
   * latest checkpoint). The data must be the same set (name and count); the
   * batch order is replayed up to the saved step. Throws DdnError for a
   * missing, damaged or foreign checkpoint.
   */
  static async resume(dir: string, dataset: Dataset, file?: string): Promise<TrainingRun> {
    const checkpoint = await readCheckpoint<RunState>(dir, file);
    let configJson: unknown;
    try {
      configJson = JSON.parse(checkpoint.configJson);
    } catch {
      throw new DdnError(`${checkpoint.path}: the model config is not valid JSON`);
    }
    const config = validateConfig(configJson, `${checkpoint.path} config`);
    const state = validateRunState(checkpoint.state, checkpoint.path);
    if (state.dataset.name !== dataset.name || state.dataset.count !== dataset.count) {
      throw new DdnError(
        `cannot resume: the run trained on ${state.dataset.name} (${state.dataset.count} images), ` +
          `not ${dataset.name} (${dataset.count} images)`,
      );
    }
    const run = TrainingRun.create(config, dataset, state.options);
    try {
      checkpoint.restore(run.model, run.optimizer);
      run.rng.setState(state.rng);
      if (state.splitPrunes.length !== run.splitPrunes.length) {
        throw new DdnError(
          `${checkpoint.path}: ${state.splitPrunes.length} Split-and-Prune states for ` +
            `${run.splitPrunes.length} layers`,
        );
      }
      state.splitPrunes.forEach((s, i) => {
        if (typeof s !== 'object' || s === null || s.k !== run.splitPrunes[i]!.k) {
          throw new DdnError(`${checkpoint.path}: Split-and-Prune state ${i} does not match layer ${i}`);
        }
        run.splitPrunes[i] = SplitPrune.fromJSON(s);
      });
    } catch (error) {
      run.dispose();
      throw error;
    }
    run.batcher.skip(state.step);
    run.step = state.step;
    run.secondsBefore = state.seconds;
    run.resumedFrom = state;
    return run;
  }

  /** Trains on the next batch. */
  trainOneStep(): StepResult {
    const batch = this.batcher.next();
    const maxChunk = this.model.config.paradigm === 'recurrence' ? RECURRENCE_CHUNK : Infinity;
    const result = trainStep(this.model, this.optimizer, this.splitPrunes, batch.images, this.rng, batch.labels, maxChunk);
    this.step++;
    return result;
  }

  /** Total Split-and-Prune events so far, over all layers. */
  get splitCount(): number {
    return this.splitPrunes.reduce((sum, s) => sum + s.splits, 0);
  }

  state(secondsThisSession: number): RunState {
    return {
      step: this.step,
      options: this.options,
      dataset: { name: this.dataset.name, count: this.dataset.count },
      rng: this.rng.getState(),
      splitPrunes: this.splitPrunes.map((s) => s.toJSON()),
      seconds: this.secondsBefore + secondsThisSession,
      backend: tf.getBackend(),
    };
  }

  /** Writes the checkpoint; see saveCheckpoint for `keep` and `loss`. */
  async saveCheckpoint(
    dir: string,
    secondsThisSession: number,
    options?: CheckpointOptions,
  ): Promise<SavedCheckpoint> {
    return saveCheckpoint(dir, this.model, this.optimizer, this.state(secondsThisSession), options);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

function checkDataset(config: ModelConfig, dataset: Dataset): void {
  if (config.condition === 'class') {
    if (dataset.labels === undefined) {
      throw new DdnError(
        `${dataset.name}: --condition class needs labels (mnist, fashion-mnist, an IDX file with its labels file, or one sub-folder per class)`,
      );
    }
    const bad = dataset.labels.findIndex((l) => !(l >= 0 && l < config.classCount));
    if (bad >= 0) {
      throw new DdnError(`${dataset.name}: label ${dataset.labels[bad]} of image ${bad} is outside [0, ${config.classCount})`);
    }
  }
  if (dataset.height !== config.imageSize || dataset.width !== config.imageSize) {
    throw new DdnError(
      `${dataset.name}: images are ${dataset.height}×${dataset.width}, the model makes ${config.imageSize}×${config.imageSize}`,
    );
  }
  if (dataset.channels !== config.imageChannels) {
    throw new DdnError(
      `${dataset.name}: images have ${dataset.channels} channel(s), the model makes ${config.imageChannels}`,
    );
  }
  if (dataset.count === 0) {
    throw new DdnError(`${dataset.name}: no images to train on`);
  }
}

function validateTrainOptions(options: TrainOptions): void {
  const { batchSize, learningRate, seed } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new DdnError(`invalid batch size ${batchSize}: expected an integer ≥ 1`);
  }
  if (!(learningRate > 0 && Number.isFinite(learningRate))) {
    throw new DdnError(`invalid learning rate ${learningRate}: expected a positive number`);
  }
  if (!Number.isInteger(seed)) {
    throw new DdnError(`invalid seed ${seed}: expected an integer`);
  }
}

/**
 * Checks the fields of a training state read from a checkpoint, so that a
 * damaged or foreign one fails with DdnError instead of a TypeError.
 */
function validateRunState(value: unknown, source: string): RunState {
  const invalid = (field: string, got: unknown): DdnError =>
    new DdnError(`${source}: invalid training state: '${field}' is ${(JSON.stringify(got) ?? String(got)).slice(0, 60)}`);
  const state = value as Partial<RunState>;
  if (!Number.isSafeInteger(state.step) || (state.step as number) < 0) throw invalid('step', state.step);
  if (typeof state.options !== 'object' || state.options === null) throw invalid('options', state.options);
  validateTrainOptions(state.options);
  const dataset = state.dataset as Partial<RunState['dataset']> | undefined;
  if (typeof dataset?.name !== 'string' || !Number.isSafeInteger(dataset.count)) {
    throw invalid('dataset', dataset);
  }
  if (!Array.isArray(state.rng)) throw invalid('rng', state.rng);
  if (!Array.isArray(state.splitPrunes)) throw invalid('splitPrunes', state.splitPrunes);
  if (typeof state.seconds !== 'number' || !(state.seconds >= 0)) throw invalid('seconds', state.seconds);
  return state as RunState;
}
