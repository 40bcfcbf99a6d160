export {
  BUILT_IN_DENSITIES,
  MASS_FLOOR,
  builtInDensity,
  cellOf,
  imageDensity,
  loadDensity,
  resizeByArea,
  type BuiltInDensity,
  type Density2d,
} from './densities.js';
export { divergences, histogram, type Divergences } from './metrics.js';
export { NodeGrid } from './nodeGrid.js';
export { viridis, writeComparePng, writeGif } from './render.js';
export { Rng } from './rng.js';
export { runToy2d, type Toy2dOptions, type Toy2dResult } from './runToy2d.js';
export { DensitySampler } from './sampler.js';
export {
  DEFAULT_LEARNING_RATE,
  trainNodes,
  type SplitPruneMode,
  type TrainNodesOptions,
  type TrainNodesResult,
} from './trainer.js';
