/**
 * Ground-truth densities of the 2-D toy on [−1, 1]², discretised into
 * bins × bins cells. Cell (row, col) covers x from −1 + 2·col/bins and y
 * down from 1 − 2·row/bins, so row 0 is the top edge, as in an image.
 */
import { existsSync } from 'node:fs';

import sharp from 'sharp';

import { DdnError } from '../errors.js';

/** A normalised density over bins × bins cells. */
export interface Density2d {
  name: string;
  bins: number;
  /** Mass per cell, row-major [bins * bins], summing to 1. */
  mass: Float64Array;
}

/**
 * Mass given to every cell before the final normalisation, so that KL
 * against the ground truth stays finite where the density is zero (the
 * authors' toy uses the same 1e-20).
 */
export const MASS_FLOOR = 1e-20;

/** Sub-samples per cell side when evaluating an analytic density. */
const SUPERSAMPLING = 3;

export const BUILT_IN_DENSITIES = [
  'gaussian',
  'blur-circles',
  'spiral',
  'checkerboard',
  'rings',
] as const;

export type BuiltInDensity = (typeof BUILT_IN_DENSITIES)[number];

type DensityFunction = (x: number, y: number) => number;

/** Returns the x (or y, mirrored) of a cell centre. */
export function cellCentre(index: number, bins: number): number {
  return -1 + (2 * (index + 0.5)) / bins;
}

/** Returns the row-major cell index of a point, clamped into the grid. */
export function cellOf(x: number, y: number, bins: number): number {
  const col = Math.floor(((x + 1) / 2) * bins);
  const row = Math.floor(((1 - y) / 2) * bins);
  const clampedCol = col < 0 ? 0 : col >= bins ? bins - 1 : col;
  const clampedRow = row < 0 ? 0 : row >= bins ? bins - 1 : row;
  return clampedRow * bins + clampedCol;
}

/**
 * Builds a named density: a built-in name, or else a path to an image
 * whose grayscale brightness is the mass. Throws DdnError for anything
 * else.
 */
export async function loadDensity(
  nameOrPath: string,
  bins: number,
): Promise<Density2d> {
  if ((BUILT_IN_DENSITIES as readonly string[]).includes(nameOrPath)) {
    return builtInDensity(nameOrPath as BuiltInDensity, bins);
  }
  if (!existsSync(nameOrPath)) {
    throw new DdnError(
      `Unknown density '${nameOrPath}': expected one of ` +
        `${BUILT_IN_DENSITIES.join(', ')} or the path of a grayscale PNG.`,
    );
  }
  return imageDensity(nameOrPath, bins);
}

/** Builds one of the analytic densities on bins × bins cells. */
export function builtInDensity(name: BuiltInDensity, bins: number): Density2d {
  checkBins(bins);
  switch (name) {
    case 'gaussian':
      return fromFunction(name, bins, gaussian);
    case 'blur-circles':
      return blurCircles(bins);
    case 'spiral':
      return fromFunction(name, bins, spiral);
    case 'checkerboard':
      return fromFunction(name, bins, checkerboard);
    case 'rings':
      return fromFunction(name, bins, rings);
  }
}

/**
 * Reads an image file as a density: brightness is mass, alpha is
 * flattened onto black, and the image is resized to bins × bins by area
 * averaging.
 */
export async function imageDensity(
  path: string,
  bins: number,
): Promise<Density2d> {
  checkBins(bins);
  let pixels: Buffer;
  let width: number;
  let height: number;
  let channels: number;
  try {
    const { data, info } = await sharp(path)
      .flatten({ background: '#000000' })
      .greyscale()
      .raw()
      .toBuffer({ resolveWithObject: true });
    pixels = data;
    ({ width, height, channels } = info);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DdnError(
      `Cannot read density image '${path}': ${reason}. ` +
        'Give a PNG (or another image format sharp decodes).',
    );
  }

  const brightness = new Float64Array(width * height);
  for (let i = 0; i < brightness.length; i++) {
    brightness[i] = pixels[i * channels]!;
  }
  const mass = resizeByArea(brightness, width, height, bins, bins);
  if (!mass.some((value) => value > 0)) {
    throw new DdnError(
      `Density image '${path}' is black everywhere, so it has no mass; ` +
        'brighter pixels mean more mass.',
    );
  }
  return { name: path, bins, mass: normalise(mass) };
}

/**
 * Resizes a single-channel image by area averaging: each output cell is
 * the mean of the source pixels it covers, weighted by the covered
 * fraction of each pixel.
 */
export function resizeByArea(
  source: Float64Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Float64Array {
  const columnWeights = areaWeights(width, outWidth);
  const rowWeights = areaWeights(height, outHeight);

  // Columns first: [height, outWidth].
  const narrowed = new Float64Array(height * outWidth);
  for (let row = 0; row < height; row++) {
    for (const { out, index, weight } of columnWeights) {
      narrowed[row * outWidth + out]! += weight * source[row * width + index]!;
    }
  }

  // Then rows: [outHeight, outWidth].
  const resized = new Float64Array(outHeight * outWidth);
  for (const { out, index, weight } of rowWeights) {
    for (let col = 0; col < outWidth; col++) {
      resized[out * outWidth + col]! += weight * narrowed[index * outWidth + col]!;
    }
  }
  return resized;
}

/** Overlap of each output cell with each source pixel, as mean weights. */
function areaWeights(
  size: number,
  outSize: number,
): { out: number; index: number; weight: number }[] {
  const weights: { out: number; index: number; weight: number }[] = [];
  const scale = size / outSize;
  for (let out = 0; out < outSize; out++) {
    const start = out * scale;
    const end = start + scale;
    for (let index = Math.floor(start); index < Math.ceil(end); index++) {
      const overlap = Math.min(end, index + 1) - Math.max(start, index);
      if (overlap > 0) {
        weights.push({ out, index, weight: overlap / scale });
      }
    }
  }
  return weights;
}

/** Normalises to sum 1 after adding the floor to every cell. */
export function normalise(values: Float64Array): Float64Array {
  let sum = 0;
  for (const value of values) {
    sum += value;
  }
  const mass = new Float64Array(values.length);
  let floored = 0;
  for (let i = 0; i < values.length; i++) {
    mass[i] = values[i]! / sum + MASS_FLOOR;
    floored += mass[i]!;
  }
  for (let i = 0; i < mass.length; i++) {
    mass[i]! /= floored;
  }
  return mass;
}

/** Averages `density` over SUPERSAMPLING² points per cell. */
function fromFunction(
  name: string,
  bins: number,
  density: DensityFunction,
): Density2d {
  const values = new Float64Array(bins * bins);
  const step = 2 / bins;
  for (let row = 0; row < bins; row++) {
    for (let col = 0; col < bins; col++) {
      let sum = 0;
      for (let sy = 0; sy < SUPERSAMPLING; sy++) {
        for (let sx = 0; sx < SUPERSAMPLING; sx++) {
          const x = -1 + step * (col + (sx + 0.5) / SUPERSAMPLING);
          const y = 1 - step * (row + (sy + 0.5) / SUPERSAMPLING);
          sum += density(x, y);
        }
      }
      values[row * bins + col] = sum;
    }
  }
  return { name, bins, mass: normalise(values) };
}

/** One round Gaussian bump, off-centre so that it is not symmetric. */
function gaussian(x: number, y: number): number {
  const sigma = 0.3;
  const dx = x - 0.1;
  const dy = y + 0.1;
  return Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
}

/** Two-armed Archimedean spiral r = a·θ, blurred across the arm. */
function spiral(x: number, y: number): number {
  const armWidth = 0.05;
  const maxRadius = 0.9;
  const turns = 2.5;
  const pitch = maxRadius / (2 * Math.PI * turns);

  const radius = Math.hypot(x, y);
  if (radius > maxRadius + 3 * armWidth) {
    return 0;
  }
  const angle = Math.atan2(y, x);
  let value = 0;
  for (const phase of [0, Math.PI]) {
    // Distance along the radius to the nearest turn of this arm.
    const theta = angle + phase;
    const turn = Math.round((radius / pitch - theta) / (2 * Math.PI));
    const armRadius = pitch * (theta + 2 * Math.PI * turn);
    if (armRadius < 0 || armRadius > maxRadius) {
      continue;
    }
    const gap = radius - armRadius;
    value += Math.exp(-(gap * gap) / (2 * armWidth * armWidth));
  }
  return value;
}

/** 4 × 4 checkerboard with empty dark squares. */
function checkerboard(x: number, y: number): number {
  const squares = 4;
  const col = Math.floor(((x + 1) / 2) * squares);
  const row = Math.floor(((1 - y) / 2) * squares);
  return (row + col) % 2 === 0 ? 1 : 0;
}

/** Three concentric rings of equal line density. */
function rings(x: number, y: number): number {
  const width = 0.035;
  const radius = Math.hypot(x, y);
  let value = 0;
  for (const ringRadius of [0.25, 0.5, 0.8]) {
    const gap = radius - ringRadius;
    value += Math.exp(-(gap * gap) / (2 * width * width));
  }
  return value;
}

/**
 * Five ring-shaped blobs (one in the centre, one per quadrant centre),
 * outer radius 0.2 and hole radius 0.1. The image is blurred with a
 * Gaussian whose width depends on the quadrant: none at top left, then
 * σ = 0.02, 0.07 and 0.25 at top right, bottom left and bottom right.
 */
function blurCircles(bins: number): Density2d {
  const centres = [
    [0, 0],
    [-0.5, 0.5],
    [0.5, 0.5],
    [-0.5, -0.5],
    [0.5, -0.5],
  ] as const;
  const outerRadius = 0.2;
  const holeRadius = 0.1;
  const sharpRings = fromFunction('blur-circles', bins, (x, y) => {
    for (const [cx, cy] of centres) {
      const radius = Math.hypot(x - cx, y - cy);
      if (radius <= outerRadius && radius >= holeRadius) {
        return 1;
      }
    }
    return 0;
  }).mass;

  const cellSize = 2 / bins;
  const quadrantImages = [
    sharpRings,
    gaussianBlur(sharpRings, bins, 0.02 / cellSize),
    gaussianBlur(sharpRings, bins, 0.07 / cellSize),
    gaussianBlur(sharpRings, bins, 0.25 / cellSize),
  ];
  const half = bins / 2;
  const values = new Float64Array(bins * bins);
  for (let row = 0; row < bins; row++) {
    for (let col = 0; col < bins; col++) {
      const quadrant = (row < half ? 0 : 2) + (col < half ? 0 : 1);
      values[row * bins + col] = quadrantImages[quadrant]![row * bins + col]!;
    }
  }
  return { name: 'blur-circles', bins, mass: normalise(values) };
}

/** Separable Gaussian blur with zero padding; sigma in cells. */
function gaussianBlur(
  image: Float64Array,
  bins: number,
  sigma: number,
): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  for (let offset = -radius; offset <= radius; offset++) {
    kernel[offset + radius] = Math.exp(-(offset * offset) / (2 * sigma * sigma));
  }
  const kernelSum = kernel.reduce((sum, weight) => sum + weight, 0);
  for (let i = 0; i < kernel.length; i++) {
    kernel[i]! /= kernelSum;
  }

  const along = (source: Float64Array, horizontal: boolean): Float64Array => {
    const blurred = new Float64Array(bins * bins);
    for (let row = 0; row < bins; row++) {
      for (let col = 0; col < bins; col++) {
        let sum = 0;
        for (let offset = -radius; offset <= radius; offset++) {
          const r = horizontal ? row : row + offset;
          const c = horizontal ? col + offset : col;
          if (r >= 0 && r < bins && c >= 0 && c < bins) {
            sum += kernel[offset + radius]! * source[r * bins + c]!;
          }
        }
        blurred[row * bins + col] = sum;
      }
    }
    return blurred;
  };
  return along(along(image, true), false);
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 2) {
    throw new DdnError(`Density bins must be an integer ≥ 2, got ${bins}.`);
  }
}
