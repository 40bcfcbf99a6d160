/**
 * Sizes of the same image under standard codecs, for comparing a latent's
 * bits with PNG (lossless, 8-bit) and with JPEG at the lowest quality that
 * reaches a given PSNR. Both use sharp (libvips).
 */
import sharp from 'sharp';

import { psnr } from '../eval/metrics.js';
import { encodePng } from '../image/codec.js';
import type { ImageData32 } from '../image/types.js';

const MAX_8_BIT = 255;

/** Bytes of the image as an 8-bit PNG. */
export async function pngBytes(image: ImageData32): Promise<number> {
  return (await encodePng(image)).length;
}

/** A JPEG's quality (1–100), size and PSNR against the original. */
export interface JpegMatch {
  quality: number;
  bytes: number;
  psnr: number;
}

/**
 * Finds the lowest JPEG quality whose decoded image reaches `targetPsnr` dB
 * against `image`, by bisection over qualities 1–100 (PSNR rises with
 * quality almost always, so the result is the lowest such quality or close
 * to it). Returns quality 100 when no quality reaches the target.
 */
export async function jpegAtPsnr(image: ImageData32, targetPsnr: number): Promise<JpegMatch> {
  const raw = toBytes(image);
  const trial = async (quality: number): Promise<JpegMatch> => {
    const jpeg = await sharp(raw, { raw: { width: image.width, height: image.height, channels: image.channels } })
      .jpeg({ quality, chromaSubsampling: '4:4:4' })
      .toBuffer();
    const decoded = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    const pixels = new Float32Array(image.data.length);
    const stride = decoded.info.channels;
    for (let p = 0; p < image.height * image.width; p++) {
      for (let c = 0; c < image.channels; c++) {
        pixels[p * image.channels + c] = decoded.data[p * stride + Math.min(c, stride - 1)]! / MAX_8_BIT;
      }
    }
    return { quality, bytes: jpeg.length, psnr: psnr(quantize(image.data), pixels) };
  };

  let low = 1;
  let high = 100;
  let best = await trial(high);
  if (best.psnr < targetPsnr) return best;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const result = await trial(middle);
    if (result.psnr >= targetPsnr) {
      best = result;
      high = middle;
    } else {
      low = middle + 1;
    }
  }
  return best;
}

function toBytes(image: ImageData32): Buffer {
  return Buffer.from(Uint8Array.from(image.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * MAX_8_BIT)));
}

/** Rounds the image to the 8-bit values a codec receives, back in [0, 1]. */
function quantize(data: Float32Array): Float32Array {
  return Float32Array.from(data, (v) => Math.round(Math.min(1, Math.max(0, v)) * MAX_8_BIT) / MAX_8_BIT);
}
