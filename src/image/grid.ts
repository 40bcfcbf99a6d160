import { DdnError } from '../errors.js';
import {
  createImage,
  isPositiveInteger,
  toRgb,
  validateImage,
  type ImageData32,
} from './types.js';

/** Spacing and fill of an image grid. */
export interface GridOptions {
  /** Pixels between cells and around the border; defaults to 2. */
  padding?: number;
  /** Value in [0, 1] of the padding pixels; defaults to 0 (black). */
  background?: number;
}

/**
 * Lays images out row by row in a grid of `columns` columns, with
 * `padding` pixels between cells and around the border. All images must
 * share height and width. The grid is gray when every image is gray and RGB
 * otherwise, with gray cells copied into all three channels. When there
 * are fewer images than columns, the grid has one row of that many cells;
 * the last row may be partly empty.
 *
 * Output shape: [rows * (h + p) + p, columns * (w + p) + p, c].
 */
export function makeGrid(
  images: ImageData32[],
  columns: number,
  options: GridOptions = {},
): ImageData32 {
  const { padding = 2, background = 0 } = options;
  if (images.length === 0) {
    throw new DdnError('makeGrid: expected at least one image, found none');
  }
  if (!isPositiveInteger(columns)) {
    throw new DdnError(`makeGrid: invalid columns ${columns}; expected a positive integer`);
  }
  if (!Number.isSafeInteger(padding) || padding < 0) {
    throw new DdnError(`makeGrid: invalid padding ${padding}; expected a non-negative integer`);
  }
  const { height, width } = images[0]!;
  images.forEach((image, index) => {
    validateImage(image, `makeGrid: image ${index}`);
    if (image.height !== height || image.width !== width) {
      throw new DdnError(
        `makeGrid: image ${index} is ${image.height}x${image.width}; ` +
          `expected ${height}x${width} like image 0`,
      );
    }
  });

  // Allocate the grid and fill it with the background.
  const channels = images.every((image) => image.channels === 1) ? 1 : 3;
  const columnCount = Math.min(columns, images.length);
  const rowCount = Math.ceil(images.length / columnCount);
  const grid = createImage(
    rowCount * (height + padding) + padding,
    columnCount * (width + padding) + padding,
    channels,
  );
  grid.data.fill(background);

  // Copy each image row by row into its cell.
  images.forEach((source, index) => {
    const image = channels === 3 ? toRgb(source) : source;
    const top = padding + Math.floor(index / columnCount) * (height + padding);
    const left = padding + (index % columnCount) * (width + padding);
    const rowLength = width * channels;
    for (let y = 0; y < height; y++) {
      const from = y * rowLength;
      const to = ((top + y) * grid.width + left) * channels;
      grid.data.set(image.data.subarray(from, from + rowLength), to);
    }
  });
  return grid;
}
