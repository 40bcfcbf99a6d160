import { DdnError } from '../errors.js';
import { padTo, resizeArea } from '../image/resize.js';
import type { ImageData32 } from '../image/types.js';

/** Side of MNIST-family images, which are zero-padded to the next power of two. */
export const MNIST_SIDE = 28;
const MNIST_PADDED_SIDE = 32;

/** The padding and area-resize steps that turn source images into square power-of-two inputs. */
export interface SizePlan {
  sourceSide: number;
  /** Side after zero padding: 32 for 28, else the source side. */
  paddedSide: number;
  /** Final side; paddedSide / outputSide is the area-resize factor. */
  outputSide: number;
}

/**
 * Chooses how to bring square images of `sourceSide` to `imageSize`
 * (default: the padded source side). A 28-pixel side is padded centred to
 * 32 with a zero border of 2. Every other side must already be a power of
 * two. The padded side is then shrunk by area averaging when it is larger
 * than the target. Throws DdnError for non-square images, other sides that
 * are not powers of two, and targets larger than the source.
 */
export function planImageSize(
  sourceHeight: number,
  sourceWidth: number,
  imageSize: number | undefined,
  source: string,
): SizePlan {
  if (sourceHeight !== sourceWidth) {
    throw new DdnError(
      `${source}: images are ${sourceHeight}x${sourceWidth}; expected square images`,
    );
  }
  const sourceSide = sourceHeight;
  let paddedSide: number;
  if (sourceSide === MNIST_SIDE) {
    paddedSide = MNIST_PADDED_SIDE;
  } else if (isPowerOfTwo(sourceSide)) {
    paddedSide = sourceSide;
  } else {
    throw new DdnError(
      `${source}: image side ${sourceSide} is not a power of two; expected ` +
        `a side such as 32, 64 or 128 (only ${MNIST_SIDE} is padded, to ${MNIST_PADDED_SIDE})`,
    );
  }

  const outputSide = imageSize ?? paddedSide;
  if (!isPowerOfTwo(outputSide)) {
    throw new DdnError(
      `${source}: invalid image side ${outputSide} (--image-size); expected a power of two such as 32 or 64`,
    );
  }
  if (outputSide > paddedSide) {
    throw new DdnError(
      `${source}: the images are ${paddedSide}×${paddedSide}, smaller than the side ${outputSide} ` +
        `asked for (the model's side, or --image-size); images are never enlarged`,
    );
  }
  return { sourceSide, paddedSide, outputSide };
}

/** Pads and shrinks one image according to the plan. */
export function fitImage(image: ImageData32, plan: SizePlan): ImageData32 {
  const padded = plan.paddedSide > image.height ? padTo(image, plan.paddedSide) : image;
  return plan.outputSide < plan.paddedSide ? resizeArea(padded, plan.outputSide) : padded;
}

/**
 * Converts `count` images of 8-bit samples, [count, side, side, channels],
 * into a fitted float array [count, outputSide, outputSide, channels] with
 * values in [0, 1].
 */
export function fitBytes(
  samples: Uint8Array,
  count: number,
  channels: 1 | 3,
  plan: SizePlan,
): Float32Array {
  const sourceLength = plan.sourceSide * plan.sourceSide * channels;
  const outputLength = plan.outputSide * plan.outputSide * channels;
  const output = new Float32Array(count * outputLength);
  for (let index = 0; index < count; index++) {
    const data = new Float32Array(sourceLength);
    const start = index * sourceLength;
    for (let i = 0; i < sourceLength; i++) data[i] = samples[start + i]! / 255;
    const image = { data, height: plan.sourceSide, width: plan.sourceSide, channels };
    output.set(fitImage(image, plan).data, index * outputLength);
  }
  return output;
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0 && Number.isInteger(Math.log2(value));
}
