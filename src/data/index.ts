export { Batcher, type Batch } from './batcher.js';
export { FASHION_MNIST_CLASSES, FASHION_MNIST_FOLDER, loadFashionMnist } from './fashionMnist.js';
export { loadImageFolder } from './folder.js';
export { parseIdx, readIdxFile, type IdxArray, type IdxData, type IdxType } from './idx.js';
export { findLabelsFile, loadIdxImages } from './idxDataset.js';
export { loadDataset } from './load.js';
export { loadMnist } from './mnist.js';
export { Rng, type RandomSource } from './rng.js';
export type { Dataset, DatasetSplit, LoadDatasetOptions } from './types.js';
