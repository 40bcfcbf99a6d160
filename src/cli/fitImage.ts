/** Brings one user image to a model's side and channel count. */
import { planImageSize, fitImage } from '../data/fit.js';
import { DdnError } from '../errors.js';
import type { ImageData32 } from '../image/types.js';

/**
 * Pads (28 → 32) or shrinks by area to `size`; converts RGB to gray by
 * luminance (ITU-R BT.601 weights) for a gray model. A gray image for an RGB
 * model is an error, because colour cannot be invented here.
 */
export function fitToModel(image: ImageData32, size: number, channels: 1 | 3, source: string): ImageData32 {
  const fitted = fitImage(image, planImageSize(image.height, image.width, size, source));
  if (fitted.channels === channels) return fitted;
  if (channels === 3) {
    throw new DdnError(`${source}: a gray image, but the model makes RGB images`);
  }
  const pixels = fitted.height * fitted.width;
  const gray = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [fitted.data[3 * p], fitted.data[3 * p + 1], fitted.data[3 * p + 2]];
    gray[p] = 0.299 * r + 0.587 * g + 0.114 * b;
  }
  return { data: gray, height: fitted.height, width: fitted.width, channels: 1 };
}
