/**
 * Inpainting masks: [S, S] on the host, 1 where a pixel is known and 0
 * where it is hidden and must be generated. A preset names the region that
 * is hidden; a mask PNG is white where pixels are known, black where hidden.
 */
import { DdnError } from '../errors.js';
import { readImage } from '../image/codec.js';

export const MASK_PRESETS = ['left', 'right', 'top', 'bottom', 'center', 'checker'] as const;
export type MaskPreset = (typeof MASK_PRESETS)[number];

/** Blocks per side of the 'checker' preset. */
const CHECKER_BLOCKS = 4;

/**
 * Makes a preset mask of side `size`. The presets left, right, top and
 * bottom hide that half. The center preset hides the middle square of half
 * the side, and checker hides every other block of a 4×4 board, starting
 * with the top-left block.
 *
 * @returns `[size, size]`, 1 known, 0 hidden.
 */
export function presetMask(preset: MaskPreset, size: number): Float32Array {
  if (!Number.isInteger(size) || size < 2) {
    throw new DdnError(`invalid mask side ${size}: expected an integer ≥ 2`);
  }
  const half = size / 2;
  const block = Math.max(1, size / CHECKER_BLOCKS);
  const hidden: (y: number, x: number) => boolean = (() => {
    switch (preset) {
      case 'left':
        return (_y: number, x: number) => x < half;
      case 'right':
        return (_y: number, x: number) => x >= half;
      case 'top':
        return (y: number) => y < half;
      case 'bottom':
        return (y: number) => y >= half;
      case 'center': {
        const low = size / 4;
        const high = size - low;
        return (y: number, x: number) => y >= low && y < high && x >= low && x < high;
      }
      case 'checker':
        return (y: number, x: number) => (Math.floor(y / block) + Math.floor(x / block)) % 2 === 0;
      default:
        throw new DdnError(`unknown mask preset '${String(preset)}': expected one of ${MASK_PRESETS.join(', ')}`);
    }
  })();
  const mask = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) mask[y * size + x] = hidden(y, x) ? 0 : 1;
  }
  return mask;
}

/**
 * Reads a mask PNG of exactly `size`×`size` pixels: brightness ≥ 0.5 is
 * known, below is hidden. A colour image is judged by its mean channel.
 *
 * @throws DdnError when the file cannot be read or has another size.
 */
export async function readMaskPng(path: string, size: number): Promise<Float32Array> {
  const image = await readImage(path);
  if (image.height !== size || image.width !== size) {
    throw new DdnError(
      `${path}: the mask is ${image.width}×${image.height} pixels, the model makes ${size}×${size} images; ` +
        `draw the mask at ${size}×${size} (white known, black hidden)`,
    );
  }
  const mask = new Float32Array(size * size);
  for (let p = 0; p < mask.length; p++) {
    let sum = 0;
    for (let c = 0; c < image.channels; c++) sum += image.data[p * image.channels + c];
    mask[p] = sum / image.channels >= 0.5 ? 1 : 0;
  }
  return mask;
}

/** Number of known pixels of a mask. */
export function knownPixels(mask: Float32Array): number {
  let count = 0;
  for (const m of mask) if (m > 0) count++;
  return count;
}
