/** Node usage: how evenly a model's levels spread over their nodes. */

/** Entropy in bits of the node distribution at each level of `latents` ([L] each), [L]. */
export function nodeEntropy(latents: ArrayLike<number>[], ks: number[]): number[] {
  return ks.map((k, level) => {
    const counts = new Float64Array(k);
    for (const latent of latents) counts[latent[level]]++;
    return entropyBits(counts);
  });
}

/** Entropy in bits of a histogram of counts. */
export function entropyBits(counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < counts.length; i++) {
    const p = counts[i] / total;
    if (p > 0) h -= p * Math.log2(p);
  }
  return h;
}
