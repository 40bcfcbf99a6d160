/**
 * A latent as text of bits: each level's code in ceil(log2 K) bits, most
 * significant bit first, the layout of the packed .ddnl payload.
 */
import { DdnError } from '../../src/errors.js';
import { packedBits, validateLatents } from '../../src/latent/format.js';

/** Writes a latent as bits, one space-separated group per level. */
export function latentToBits(latent: ArrayLike<number>, ks: readonly number[]): string {
  return Array.from(latent, (code, level) => code.toString(2).padStart(packedBits(ks[level]), '0')).join(' ');
}

/**
 * Reads bits written by latentToBits; spaces and line breaks are ignored.
 *
 * @throws DdnError for other characters, a wrong bit count or a code ≥ K.
 */
export function bitsToLatent(text: string, ks: readonly number[]): Int32Array {
  const bits = text.replace(/\s+/g, '');
  const widths = ks.map(packedBits);
  const total = widths.reduce((sum, w) => sum + w, 0);
  if (!/^[01]*$/.test(bits)) {
    throw new DdnError('the bits may contain only 0, 1 and spaces');
  }
  if (bits.length !== total) {
    throw new DdnError(`expected ${total} bits (${widths.join(' + ')}), got ${bits.length}`);
  }
  const latent = new Int32Array(ks.length);
  let offset = 0;
  widths.forEach((width, level) => {
    latent[level] = width === 0 ? 0 : parseInt(bits.slice(offset, offset + width), 2);
    offset += width;
  });
  validateLatents([latent], ks);
  return latent;
}
