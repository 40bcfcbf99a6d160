/**
 * The hierarchical picture of the latent tree (DDN paper, Fig. 8): recursive
 * 3×3 grids. The centre cell of a block shows the node's own image and the
 * 8 cells around it hold the subtrees of its children, so images shrink by
 * 3 per level. The centre of the whole picture is the mean of the deepest
 * images. K = 8 fills every cell; for K > 8 the first 8 children are shown,
 * and for K < 8 the remaining cells stay empty.
 */
import { DdnError } from '../errors.js';
import { resizeBilinear } from '../image/resize.js';
import { createImage, type ImageData32 } from '../image/types.js';

/** Children shown per node: the 8 cells around the centre of a 3×3 block. */
export const TREE_CHILDREN_SHOWN = 8;
/** Widest picture `layoutTree` accepts, in pixels. */
export const MAX_TREE_SIDE = 8192;

/** Cells around the centre in reading order, as [row, column]. */
const RING: readonly [number, number][] = [
  [0, 0], [0, 1], [0, 2],
  [1, 0], [1, 2],
  [2, 0], [2, 1], [2, 2],
];

/** Frame colours by prefix length: 0 the mean, 1 blue, 2 green, then orange, red, purple. */
const LEVEL_COLOURS: readonly [number, number, number][] = [
  [0.6, 0.6, 0.6],
  [0.2, 0.45, 1],
  [0.2, 0.8, 0.3],
  [1, 0.6, 0.1],
  [0.9, 0.2, 0.2],
  [0.7, 0.3, 0.9],
];

/** One image in the picture: the node at `prefix`, in a square cell. */
export interface TreeTile {
  /** Path from the root; [] is the root, drawn as the mean image. */
  prefix: number[];
  /** Top-left corner and side of the cell, in pixels. */
  x: number;
  y: number;
  side: number;
  /** True for the deepest images, drawn without a coloured frame. */
  leaf: boolean;
}

export interface TreeLayout {
  /** Side of the square picture, in pixels. */
  side: number;
  /** Padding inside every cell, in pixels; a frame for inner nodes. */
  padding: number;
  tiles: TreeTile[];
}

/**
 * Places the nodes of one level per entry of `ks` (K of each level shown):
 * a leaf cell is `imageSide + 2·padding` pixels, and the picture is
 * 3^levels leaf cells wide. Raises DdnError for a picture wider than
 * MAX_TREE_SIDE.
 */
export function layoutTree(ks: readonly number[], imageSide: number, padding = 2): TreeLayout {
  const levels = ks.length;
  if (levels < 1) {
    throw new DdnError('tree picture: expected at least one level');
  }
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 2) {
      throw new DdnError(`tree picture: invalid K ${k}; expected an integer ≥ 2`);
    }
  }
  const unit = imageSide + 2 * padding;
  const side = 3 ** levels * unit;
  if (side > MAX_TREE_SIDE) {
    throw new DdnError(
      `tree picture: ${levels} levels of ${imageSide}-pixel images need ${side} pixels per side, ` +
        `more than ${MAX_TREE_SIDE}; use fewer levels`,
    );
  }
  const tiles: TreeTile[] = [];

  const place = (prefix: number[], x: number, y: number, blockSide: number) => {
    if (prefix.length === levels) {
      tiles.push({ prefix, x, y, side: blockSide, leaf: true });
      return;
    }
    const cell = blockSide / 3;
    tiles.push({ prefix, x: x + cell, y: y + cell, side: cell, leaf: false });
    const children = Math.min(ks[prefix.length]!, TREE_CHILDREN_SHOWN);
    for (let child = 0; child < children; child++) {
      const [row, column] = RING[child]!;
      place([...prefix, child], x + column * cell, y + row * cell, cell);
    }
  };
  place([], 0, 0, side);
  return { side, padding, tiles };
}

/**
 * Draws a layout as an RGB image. `imageOf(prefix)` returns each node's
 * image at any square side, and each is resized to its cell. The root's
 * image is meant to be the mean of the leaves.
 */
export function renderTree(layout: TreeLayout, imageOf: (prefix: number[]) => ImageData32): ImageData32 {
  const canvas = createImage(layout.side, layout.side, 3);
  const { padding } = layout;
  for (const tile of layout.tiles) {
    if (!tile.leaf) {
      const colour = LEVEL_COLOURS[Math.min(tile.prefix.length, LEVEL_COLOURS.length - 1)]!;
      fillSquare(canvas, tile.x, tile.y, tile.side, colour);
    }
    const inner = tile.side - 2 * padding;
    let image = imageOf(tile.prefix);
    if (image.height !== inner || image.width !== inner) image = resizeBilinear(image, inner);
    pasteImage(canvas, image, tile.x + padding, tile.y + padding);
  }
  return canvas;
}

function fillSquare(canvas: ImageData32, x: number, y: number, side: number, colour: readonly number[]): void {
  for (let row = y; row < y + side; row++) {
    for (let column = x; column < x + side; column++) {
      canvas.data.set(colour, (row * canvas.width + column) * 3);
    }
  }
}

function pasteImage(canvas: ImageData32, image: ImageData32, x: number, y: number): void {
  for (let row = 0; row < image.height; row++) {
    for (let column = 0; column < image.width; column++) {
      const to = ((y + row) * canvas.width + x + column) * 3;
      const from = (row * image.width + column) * image.channels;
      for (let c = 0; c < 3; c++) {
        canvas.data[to + c] = image.data[from + (image.channels === 3 ? c : 0)]!;
      }
    }
  }
}
