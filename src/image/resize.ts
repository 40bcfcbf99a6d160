import { DdnError } from '../errors.js';
import {
  createImage,
  isPositiveInteger,
  validateImage,
  type ImageData32,
} from './types.js';

/** A target size: one number for a square, or both sides. */
export type ImageSize = number | { height: number; width: number };

function toSides(size: ImageSize, where: string): { height: number; width: number } {
  const sides = typeof size === 'number' ? { height: size, width: size } : size;
  if (!isPositiveInteger(sides.height) || !isPositiveInteger(sides.width)) {
    throw new DdnError(
      `${where}: invalid target size ${sides.height}x${sides.width}; ` +
        'expected positive integer sides',
    );
  }
  return sides;
}

/**
 * Downsamples by an integer factor per side with a box filter: each output
 * pixel is the mean of the factorY x factorX source block that it covers.
 * Throws DdnError unless each source side is a multiple of the target side.
 */
export function resizeArea(image: ImageData32, size: ImageSize): ImageData32 {
  validateImage(image, 'resizeArea');
  const { height, width } = toSides(size, 'resizeArea');
  if (image.height % height !== 0 || image.width % width !== 0) {
    throw new DdnError(
      `resizeArea: cannot shrink ${image.height}x${image.width} to ` +
        `${height}x${width}; expected source sides that are integer ` +
        'multiples of the target sides',
    );
  }
  const factorY = image.height / height;
  const factorX = image.width / width;
  const channels = image.channels;
  const output = createImage(height, width, channels);
  const scale = 1 / (factorY * factorX);

  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        // Sum the source block that maps onto output pixel (y, x).
        let sum = 0;
        for (let dy = 0; dy < factorY; dy++) {
          const rowStart = (y * factorY + dy) * image.width;
          for (let dx = 0; dx < factorX; dx++) {
            sum += image.data[(rowStart + x * factorX + dx) * channels + c]!;
          }
        }
        output.data[(y * width + x) * channels + c] = sum * scale;
      }
    }
  }
  return output;
}

/**
 * Resizes with bilinear interpolation to any size, using half-pixel
 * centres: output pixel i samples the source at (i + 0.5) * scale - 0.5,
 * clamped at the borders. Shrinking by more than 2x skips source pixels and
 * aliases; use resizeArea for integer factors.
 */
export function resizeBilinear(image: ImageData32, size: ImageSize): ImageData32 {
  validateImage(image, 'resizeBilinear');
  const { height, width } = toSides(size, 'resizeBilinear');
  const channels = image.channels;
  const output = createImage(height, width, channels);
  const scaleY = image.height / height;
  const scaleX = image.width / width;

  for (let y = 0; y < height; y++) {
    const [y0, y1, weightY] = samplePositions(y, scaleY, image.height);
    for (let x = 0; x < width; x++) {
      const [x0, x1, weightX] = samplePositions(x, scaleX, image.width);
      for (let c = 0; c < channels; c++) {
        const at = (row: number, column: number) =>
          image.data[(row * image.width + column) * channels + c]!;
        const top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * weightX;
        const bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * weightX;
        output.data[(y * width + x) * channels + c] =
          top + (bottom - top) * weightY;
      }
    }
  }
  return output;
}

/** Returns the two source indices around output index `i` and the weight of the second. */
function samplePositions(
  i: number,
  scale: number,
  sourceLength: number,
): [number, number, number] {
  const position = Math.min(
    Math.max((i + 0.5) * scale - 0.5, 0),
    sourceLength - 1,
  );
  const low = Math.floor(position);
  const high = Math.min(low + 1, sourceLength - 1);
  return [low, high, position - low];
}

/**
 * Pads with zeros to the target size, keeping the image centred. When the
 * margin is odd the extra row goes below and the extra column to the right.
 * Throws DdnError when the target is smaller than the image.
 */
export function padTo(image: ImageData32, size: ImageSize): ImageData32 {
  validateImage(image, 'padTo');
  const { height, width } = toSides(size, 'padTo');
  if (height < image.height || width < image.width) {
    throw new DdnError(
      `padTo: cannot pad ${image.height}x${image.width} to ${height}x${width}; ` +
        'expected a target at least as large as the image',
    );
  }
  const channels = image.channels;
  const output = createImage(height, width, channels);
  const top = Math.floor((height - image.height) / 2);
  const left = Math.floor((width - image.width) / 2);
  const rowLength = image.width * channels;

  for (let y = 0; y < image.height; y++) {
    const from = y * rowLength;
    const to = ((top + y) * width + left) * channels;
    output.data.set(image.data.subarray(from, from + rowLength), to);
  }
  return output;
}
