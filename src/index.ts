/**
 * The public library API of the TypeScript Discrete Distribution Networks.
 * The command line and the web page import only from here.
 */
export { DdnError } from './errors.js';
export { initBackend, type BackendInfo, type BackendName } from './backend/select.js';
export {
  type ModelConfig,
  type ModelOptions,
  type Paradigm,
  makeConfig,
  bitsPerImage,
  levelKs,
  levelSizes,
} from './model/config.js';
export { DdnModel, type GeneratedBatch } from './model/model.js';
export { DiscreteDistributionLayer } from './model/ddl.js';
export type { CandidateSet, LevelContext, RandomSource, Sampler, Selection } from './sampling/sampler.js';
export { ArgminSampler, FixedSampler, RandomSampler } from './sampling/basic.js';
export { UsagePrior, UsagePriorSampler } from './sampling/usagePrior.js';
export { measureNodeCounts, type NodeCounts } from './sampling/nodeCounts.js';
export { SplitPrune, type SplitPruneState, type SplitRule } from './splitPrune/index.js';
export { Adam } from './train/adam.js';
export { TrainingRun, type TrainOptions } from './train/run.js';
export { trainStep, type StepResult } from './train/step.js';
export { loadModel, saveModel } from './io/modelDir.js';
export { loadDataset } from './data/load.js';
export type { Dataset } from './data/types.js';
export { Rng } from './data/rng.js';
export { psnr, meanSquaredError } from './eval/metrics.js';
export { type ConditionKind, type ConditionInput } from './model/condition.js';
export { type HostCondition } from './model/model.js';
export {
  guidedSample,
  GUIDE_TASKS,
  type GuideCondition,
  type GuideTask,
  type GuideTerm,
  type GuideOptions,
} from './sampling/guide.js';
export { GuidedSampler, type Scorer } from './sampling/guided.js';
export { presetMask, MASK_PRESETS, type MaskPreset } from './sampling/masks.js';
export { Classifier, makeClassifierConfig } from './classifier/cnn.js';
export { loadClassifier, saveClassifier } from './classifier/io.js';
export { trainClassifier } from './classifier/train.js';
export * as latent from './latent/index.js';
export { runToy2d, type Toy2dOptions, type Toy2dResult } from './toy2d/index.js';
export { evaluateModel, type EvaluationReport } from './eval/evaluate.js';
