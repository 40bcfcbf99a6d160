/**
 * Structural similarity (Wang et al., 2004) of two images in [0, 1], with a
 * 7×7 uniform window over the valid region, K1 = 0.01, K2 = 0.03 and unbiased
 * local variances (the defaults of scikit-image's structural_similarity).
 * Colour images average the SSIM of their channels.
 */
const WINDOW = 7;
const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;

/** SSIM of two images [h·w·c] (HWC). */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, channels: number): number {
  if (a.length !== b.length || a.length !== height * width * channels) {
    throw new RangeError(`ssim: expected two images of ${height}×${width}×${channels}`);
  }
  const win = Math.min(WINDOW, height, width);
  const count = win * win;
  const unbias = count / (count - 1);
  let total = 0;
  let windows = 0;
  for (let ch = 0; ch < channels; ch++) {
    for (let y = 0; y + win <= height; y++) {
      for (let x = 0; x + win <= width; x++) {
        let sa = 0;
        let sb = 0;
        let saa = 0;
        let sbb = 0;
        let sab = 0;
        for (let dy = 0; dy < win; dy++) {
          for (let dx = 0; dx < win; dx++) {
            const i = ((y + dy) * width + (x + dx)) * channels + ch;
            const va = a[i];
            const vb = b[i];
            sa += va;
            sb += vb;
            saa += va * va;
            sbb += vb * vb;
            sab += va * vb;
          }
        }
        const ma = sa / count;
        const mb = sb / count;
        const va = (saa / count - ma * ma) * unbias;
        const vb = (sbb / count - mb * mb) * unbias;
        const cov = (sab / count - ma * mb) * unbias;
        total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
        windows++;
      }
    }
  }
  return total / windows;
}
