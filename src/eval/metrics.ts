/** Image quality figures on host images with values in [0, 1]. */

/** Mean squared error between two equally long pixel arrays. */
export function meanSquaredError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) {
    throw new RangeError(`meanSquaredError: lengths differ (${a.length} and ${b.length})`);
  }
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  return sum / a.length;
}

/** Peak signal-to-noise ratio in dB for a peak of 1; Infinity for identical images. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const mse = meanSquaredError(a, b);
  return mse === 0 ? Infinity : 10 * Math.log10(1 / mse);
}

/**
 * PSNR of each image of two batches laid out as [n, pixels], [n]. The mean
 * of these per-image values is what the command line reports.
 */
export function psnrPerImage(a: Float32Array, b: Float32Array, n: number): number[] {
  const pixels = a.length / n;
  return Array.from({ length: n }, (_, i) =>
    psnr(a.subarray(i * pixels, (i + 1) * pixels), b.subarray(i * pixels, (i + 1) * pixels)),
  );
}
