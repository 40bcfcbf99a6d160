import { DdnError } from '../errors.js';

/**
 * A decoded image with float pixel values in [0, 1], stored row by row with
 * interleaved channels: the shape is [height, width, channels] (HWC).
 */
export interface ImageData32 {
  data: Float32Array;
  height: number;
  width: number;
  channels: 1 | 3;
}

/** Allocates a black image of the given shape. */
export function createImage(
  height: number,
  width: number,
  channels: 1 | 3,
): ImageData32 {
  return {
    data: new Float32Array(height * width * channels),
    height,
    width,
    channels,
  };
}

/**
 * Throws DdnError unless the sides are positive integers, the channel
 * count is 1 or 3 and the data length equals height * width * channels.
 * `where` names the caller in the message.
 */
export function validateImage(image: ImageData32, where: string): void {
  const { height, width, channels } = image;
  if (!isPositiveInteger(height) || !isPositiveInteger(width)) {
    throw new DdnError(
      `${where}: invalid image size ${height}x${width}; expected positive ` +
        'integer sides',
    );
  }
  if (channels !== 1 && channels !== 3) {
    throw new DdnError(
      `${where}: invalid channel count ${channels}; expected 1 or 3`,
    );
  }
  const expectedLength = height * width * channels;
  if (!(image.data instanceof Float32Array)) {
    throw new DdnError(`${where}: expected image data as a Float32Array`);
  }
  if (image.data.length !== expectedLength) {
    throw new DdnError(
      `${where}: image ${height}x${width}x${channels} needs ` +
        `${expectedLength} values, found ${image.data.length}`,
    );
  }
}

/** Returns an RGB copy of a gray image, or the image itself when RGB. */
export function toRgb(image: ImageData32): ImageData32 {
  if (image.channels === 3) return image;
  const rgb = createImage(image.height, image.width, 3);
  for (let pixel = 0; pixel < image.data.length; pixel++) {
    const value = image.data[pixel]!;
    rgb.data[pixel * 3] = value;
    rgb.data[pixel * 3 + 1] = value;
    rgb.data[pixel * 3 + 2] = value;
  }
  return rgb;
}

export function isPositiveInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value > 0;
}
