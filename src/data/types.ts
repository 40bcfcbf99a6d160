/**
 * An in-memory image dataset. `images` contains `count` images of shape
 * [height, width, channels] back to back, so the whole array is
 * [count, height, width, channels] (NHWC) with values in [0, 1].
 */
export interface Dataset {
  name: string;
  images: Float32Array;
  count: number;
  height: number;
  width: number;
  channels: 1 | 3;
  /** Class index of each image, [count], when the source has labels. */
  labels?: Int32Array;
  /** Class names indexed by label, when the source names its classes. */
  classNames?: string[];
}

/** The part of a dataset to load. */
export type DatasetSplit = 'train' | 'test' | 'all';

/** Options of loadDataset. */
export interface LoadDatasetOptions {
  /**
   * 'train' (the default), 'test' or 'all'. Image folders and IDX files
   * have no split of their own, so there 'train' and 'all' load every
   * image and 'test' is rejected.
   */
  split?: DatasetSplit;
  /**
   * Side of the square output images, a power of two. Defaults to the
   * source side, with 28 padded to 32. Sources larger than this are
   * shrunk by area averaging; upsampling is not supported.
   */
  imageSize?: number;
  /** Keeps only the first `limit` images of the split. */
  limit?: number;
}
