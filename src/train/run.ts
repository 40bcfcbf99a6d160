/**
 * A training run: model, optimizer, Split-and-Prune counters, data order and
 * random state, advanced one step at a time, checkpointed and resumed so
 * that a resumed run continues exactly as if it had never stopped (same
 * backend, same seed).
 */
import { Batcher } from '../data/batcher.js';
import { Rng } from '../data/rng.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { type CheckpointOptions, readCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
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
}

export class TrainingRun {
  step = 0;
  /** Seconds of training in earlier sessions of this run. */
  secondsBefore = 0;

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
   * Continues the run checkpointed in `dir`. The data must be the same set
   * (name and count); the batch order is replayed up to the saved step.
   */
  static async resume(dir: string, dataset: Dataset): Promise<TrainingRun> {
    const checkpoint = await readCheckpoint<RunState>(dir);
    const config = validateConfig(JSON.parse(checkpoint.configJson), `${dir} checkpoint`);
    const { state } = checkpoint;
    if (state.dataset.name !== dataset.name || state.dataset.count !== dataset.count) {
      throw new DdnError(
        `cannot resume: the run trained on ${state.dataset.name} (${state.dataset.count} images), ` +
          `not ${dataset.name} (${dataset.count} images)`,
      );
    }
    const run = TrainingRun.create(config, dataset, state.options);
    checkpoint.restore(run.model, run.optimizer);
    run.rng.setState(state.rng);
    state.splitPrunes.forEach((s, i) => {
      run.splitPrunes[i] = SplitPrune.fromJSON(s);
    });
    run.batcher.skip(state.step);
    run.step = state.step;
    run.secondsBefore = state.seconds;
    return run;
  }

  /** Trains on the next batch. */
  trainOneStep(): StepResult {
    const batch = this.batcher.next();
    const result = trainStep(this.model, this.optimizer, this.splitPrunes, batch.images, this.rng);
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
    };
  }

  async saveCheckpoint(dir: string, secondsThisSession: number, options?: CheckpointOptions): Promise<string> {
    return saveCheckpoint(dir, this.model, this.optimizer, this.state(secondsThisSession), options);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

function checkDataset(config: ModelConfig, dataset: Dataset): void {
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
