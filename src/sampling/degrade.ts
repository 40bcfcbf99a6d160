/**
 * Degradations that turn clean host images into guidance conditions, and
 * the figures that measure how well guided samples meet them. Images are
 * [n, S, S, c] Float32Array in [0, 1].
 */
import { psnr } from '../eval/metrics.js';
import { resizeArea } from '../image/resize.js';
import type { RandomSource } from './sampler.js';
import { LUMINANCE_WEIGHTS } from './scorers.js';

/** Area-averages every image down by `factor`: [n, S, S, c] → [n, S/f, S/f, c]. */
export function downsampleImages(
  images: Float32Array,
  n: number,
  size: number,
  channels: 1 | 3,
  factor: number,
): Float32Array {
  const length = size * size * channels;
  const low = size / factor;
  const out = new Float32Array(n * low * low * channels);
  for (let i = 0; i < n; i++) {
    const image = { data: images.slice(i * length, (i + 1) * length), height: size, width: size, channels };
    out.set(resizeArea(image, low).data, i * low * low * channels);
  }
  return out;
}

/** Enlarges by pixel repetition, for showing a low-resolution image at full size: [n, s, s, c] → [n, s·f, s·f, c]. */
export function repeatPixels(images: Float32Array, n: number, side: number, channels: number, factor: number): Float32Array {
  const size = side * factor;
  const out = new Float32Array(n * size * size * channels);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const from = ((i * side + Math.floor(y / factor)) * side + Math.floor(x / factor)) * channels;
        const to = ((i * size + y) * size + x) * channels;
        for (let c = 0; c < channels; c++) out[to + c] = images[from + c];
      }
    }
  }
  return out;
}

/** Luminance of RGB images (ITU-R BT.601): [n, S, S, 3] → [n, S, S, 1]. */
export function toGray(images: Float32Array): Float32Array {
  const pixels = images.length / 3;
  const gray = new Float32Array(pixels);
  const [r, g, b] = LUMINANCE_WEIGHTS;
  for (let p = 0; p < pixels; p++) {
    gray[p] = r * images[3 * p] + g * images[3 * p + 1] + b * images[3 * p + 2];
  }
  return gray;
}

/** Adds Gaussian noise of standard deviation `sigma` and clips to [0, 1]. */
export function addNoise(images: Float32Array, sigma: number, rng: RandomSource): Float32Array {
  const out = new Float32Array(images.length);
  for (let i = 0; i < images.length; i += 2) {
    // Box-Muller: two independent normals from two uniforms.
    const radius = sigma * Math.sqrt(-2 * Math.log(1 - rng.next()));
    const angle = 2 * Math.PI * rng.next();
    out[i] = Math.min(1, Math.max(0, images[i] + radius * Math.cos(angle)));
    if (i + 1 < images.length) {
      out[i + 1] = Math.min(1, Math.max(0, images[i + 1] + radius * Math.sin(angle)));
    }
  }
  return out;
}

/** Rounds every value to the nearest of 2^bits evenly spaced levels in [0, 1]. */
export function quantizeImages(images: Float32Array, bits: number): Float32Array {
  const steps = 2 ** bits - 1;
  return images.map((v) => Math.round(Math.min(1, Math.max(0, v)) * steps) / steps);
}

/** Paints the hidden pixels of every image [n, S, S, c] with `fill`, for display. */
export function hidePixels(images: Float32Array, mask: Float32Array, channels: number, fill = 0.5): Float32Array {
  const out = images.slice();
  const pixels = mask.length;
  for (let p = 0; p < out.length / channels; p++) {
    if (mask[p % pixels] > 0) continue;
    for (let c = 0; c < channels; c++) out[p * channels + c] = fill;
  }
  return out;
}

/**
 * Mean PSNR in dB over images [n, S, S, c] of `a` against `b`, counting only
 * the pixels where `region` [S, S] is non-zero.
 */
export function regionPsnr(a: Float32Array, b: Float32Array, n: number, region: Float32Array, channels: number): number {
  const pixels = region.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let count = 0;
    for (let p = 0; p < pixels; p++) {
      if (region[p] === 0) continue;
      for (let c = 0; c < channels; c++) {
        const index = (i * pixels + p) * channels + c;
        const d = a[index] - b[index];
        sum += d * d;
        count++;
      }
    }
    total += count === 0 || sum === 0 ? Infinity : 10 * Math.log10(count / sum);
  }
  return total / n;
}

/** Mean PSNR in dB of each image [n, …] in `a` against the image at the same place in `b`. */
export function meanPsnr(a: Float32Array, b: Float32Array, n: number): number {
  const length = a.length / n;
  let total = 0;
  for (let i = 0; i < n; i++) {
    total += psnr(a.subarray(i * length, (i + 1) * length), b.subarray(i * length, (i + 1) * length));
  }
  return total / n;
}

/** Share of `predicted` labels that equal `requested` (one class, or one per image). */
export function hitRate(predicted: Int32Array, requested: number | ArrayLike<number>): number {
  let hits = 0;
  for (let i = 0; i < predicted.length; i++) {
    const want = typeof requested === 'number' ? requested : requested[i];
    if (predicted[i] === want) hits++;
  }
  return hits / predicted.length;
}

/** Inverts a mask: the result is 1 where the mask hides a pixel. */
export function hiddenRegion(mask: Float32Array): Float32Array {
  return mask.map((m) => (m > 0 ? 0 : 1));
}
