/**
 * The latent file format (`.ddnl`): the latents of a batch of images with
 * the SHA-256 of the weights that made them. Version 1, integers
 * little-endian:
 *
 *   offset     size  field
 *   0          4     magic "DDNL"
 *   4          1     version, 1
 *   5          1     coding: 0 = packed, 1 = arithmetic
 *   6          32    SHA-256 of the model's weights file (model.safetensors)
 *   38         2     L, levels per latent, uint16, ≥ 1
 *   40         2·L   K − 1 of each level, uint16 (K in [2, 65536])
 *   40+2L      4     N, image count, uint32
 *   44+2L      4     P, payload bytes, uint32
 *   48+2L      P     payload
 *   48+2L+P    4     CRC-32 (IEEE, as in PNG) of all bytes before it
 *
 * Packed payload: image by image, level by level, each code in
 * ceil(log2 K) bits, most significant bit first, zero bits padding the last
 * byte. Arithmetic payload: the adaptive coder of arithmetic.ts, one model
 * per level. The file ends right after the CRC.
 */
import { DdnError } from '../errors.js';
import { arithmeticDecode, arithmeticEncode } from './arithmetic.js';
import { BitReader, BitWriter } from './bits.js';
import { crc32 } from './crc32.js';

export const LATENT_MAGIC = 'DDNL';
export const LATENT_VERSION = 1;
export const MAX_LATENT_K = 65536;
export const MAX_LATENT_LEVELS = 65535;
/** Most images (N) and codes (N·L) one file may hold, which bounds what a reader allocates. */
export const MAX_LATENT_IMAGES = 2 ** 20;
export const MAX_LATENT_CODES = 2 ** 24;

const HASH_BYTES = 32;
const FIXED_HEADER_BYTES = 4 + 1 + 1 + HASH_BYTES + 2; // up to and including L
const CRC_BYTES = 4;

export type LatentCoding = 'packed' | 'arithmetic';
const CODING_IDS: Record<LatentCoding, number> = { packed: 0, arithmetic: 1 };

/** The content of a latent file. */
export interface LatentFile {
  coding: LatentCoding;
  /** SHA-256 of the model's weights file, 64 lowercase hex digits. */
  weightsSha256: string;
  /** K of every level, [L]. */
  ks: number[];
  /** One latent per image, each [L]. */
  latents: Int32Array[];
}

/** Bits of one packed code: ceil(log2 K). */
export function packedBits(k: number): number {
  let bits = 0;
  while (2 ** bits < k) bits++;
  return bits;
}

/** Checks that every latent has L codes within its level's K. */
export function validateLatents(latents: readonly ArrayLike<number>[], ks: readonly number[]): void {
  latents.forEach((latent, image) => {
    if (latent.length !== ks.length) {
      throw new DdnError(`latent ${image} has ${latent.length} levels, expected ${ks.length}`);
    }
    for (let level = 0; level < ks.length; level++) {
      const code = latent[level]!;
      if (!Number.isInteger(code) || code < 0 || code >= ks[level]!) {
        throw new DdnError(`latent ${image} level ${level}: code ${code} is outside [0, ${ks[level]})`);
      }
    }
  });
}

/** Serializes latents to the file format with the given payload coding. */
export function writeLatentFile(content: LatentFile): Uint8Array {
  const { ks, latents, coding } = content;
  if (!/^[0-9a-f]{64}$/.test(content.weightsSha256)) {
    throw new DdnError(`invalid weights SHA-256 '${content.weightsSha256}': expected 64 lowercase hex digits`);
  }
  if (ks.length < 1 || ks.length > MAX_LATENT_LEVELS) {
    throw new DdnError(`invalid level count ${ks.length}: expected 1 to ${MAX_LATENT_LEVELS}`);
  }
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 2 || k > MAX_LATENT_K) {
      throw new DdnError(`invalid K ${k}: the latent format stores K in [2, ${MAX_LATENT_K}]`);
    }
  }
  if (latents.length > MAX_LATENT_IMAGES || latents.length * ks.length > MAX_LATENT_CODES) {
    throw new DdnError(
      `too many latents (${latents.length} images × ${ks.length} levels): a file holds at most ` +
        `${MAX_LATENT_IMAGES} images and ${MAX_LATENT_CODES} codes`,
    );
  }
  validateLatents(latents, ks);

  const payload = coding === 'packed' ? packCodes(latents, ks) : arithmeticEncode(latents, ks);
  const headerBytes = FIXED_HEADER_BYTES + 2 * ks.length + 8;
  const bytes = new Uint8Array(headerBytes + payload.length + CRC_BYTES);
  const view = new DataView(bytes.buffer);

  // Header: magic, version, coding, hash, L, K − 1 per level, N, P.
  bytes.set(new TextEncoder().encode(LATENT_MAGIC), 0);
  view.setUint8(4, LATENT_VERSION);
  view.setUint8(5, CODING_IDS[coding]);
  bytes.set(Buffer.from(content.weightsSha256, 'hex'), 6);
  view.setUint16(6 + HASH_BYTES, ks.length, true);
  ks.forEach((k, level) => view.setUint16(FIXED_HEADER_BYTES + 2 * level, k - 1, true));
  const countOffset = FIXED_HEADER_BYTES + 2 * ks.length;
  view.setUint32(countOffset, latents.length, true);
  view.setUint32(countOffset + 4, payload.length, true);

  // Payload and checksum.
  bytes.set(payload, headerBytes);
  const crcOffset = headerBytes + payload.length;
  view.setUint32(crcOffset, crc32(bytes.subarray(0, crcOffset)), true);
  return bytes;
}

/**
 * Parses a latent file. Every field is checked before it is used, no read
 * goes past `bytes`, and allocations are bounded by MAX_LATENT_IMAGES and MAX_LATENT_CODES; any
 * violation, a checksum mismatch or trailing bytes raise DdnError naming
 * `source`.
 */
export function readLatentFile(bytes: Uint8Array, source = 'latent file'): LatentFile {
  const notLatent = `${source}: not a DDN latent file (expected the magic bytes "${LATENT_MAGIC}")`;
  if (bytes.length < 4 || new TextDecoder().decode(bytes.subarray(0, 4)) !== LATENT_MAGIC) {
    throw new DdnError(notLatent);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (end: number, what: string) => {
    if (bytes.length < end) {
      throw new DdnError(`${source}: file ends inside the ${what} (${bytes.length} bytes, expected at least ${end}); it is truncated`);
    }
  };

  // Fixed header.
  need(FIXED_HEADER_BYTES, 'header');
  const version = view.getUint8(4);
  if (version !== LATENT_VERSION) {
    throw new DdnError(`${source}: latent format version ${version} is not supported (expected ${LATENT_VERSION})`);
  }
  const codingId = view.getUint8(5);
  const coding = (Object.keys(CODING_IDS) as LatentCoding[]).find((name) => CODING_IDS[name] === codingId);
  if (coding === undefined) {
    throw new DdnError(`${source}: unknown payload coding ${codingId} (expected 0 = packed or 1 = arithmetic)`);
  }
  const weightsSha256 = Buffer.from(bytes.subarray(6, 6 + HASH_BYTES)).toString('hex');
  const levelCount = view.getUint16(6 + HASH_BYTES, true);
  if (levelCount < 1) {
    throw new DdnError(`${source}: invalid level count 0`);
  }

  // Per-level K, image count, payload length.
  const countOffset = FIXED_HEADER_BYTES + 2 * levelCount;
  need(countOffset + 8, 'header');
  const ks = Array.from({ length: levelCount }, (_, level) => view.getUint16(FIXED_HEADER_BYTES + 2 * level, true) + 1);
  const badK = ks.findIndex((k) => k < 2);
  if (badK >= 0) {
    throw new DdnError(`${source}: invalid K ${ks[badK]} at level ${badK}: expected K ≥ 2`);
  }
  const count = view.getUint32(countOffset, true);
  const payloadBytes = view.getUint32(countOffset + 4, true);
  if (count > MAX_LATENT_IMAGES || count * levelCount > MAX_LATENT_CODES) {
    throw new DdnError(
      `${source}: ${count} images × ${levelCount} levels exceeds the limits of ` +
        `${MAX_LATENT_IMAGES} images and ${MAX_LATENT_CODES} codes per file`,
    );
  }
  const payloadOffset = countOffset + 8;
  const crcOffset = payloadOffset + payloadBytes;
  need(crcOffset + CRC_BYTES, 'payload');
  if (bytes.length > crcOffset + CRC_BYTES) {
    throw new DdnError(`${source}: ${bytes.length - crcOffset - CRC_BYTES} unexpected bytes after the checksum`);
  }
  const storedCrc = view.getUint32(crcOffset, true);
  if (crc32(bytes.subarray(0, crcOffset)) !== storedCrc) {
    throw new DdnError(`${source}: checksum mismatch; the file is corrupted`);
  }

  // Codes.
  const payload = bytes.subarray(payloadOffset, crcOffset);
  const latents =
    coding === 'packed' ? unpackCodes(payload, count, ks, source) : arithmeticDecode(payload, count, ks, source);
  return { coding, weightsSha256, ks, latents };
}

function packCodes(latents: readonly ArrayLike<number>[], ks: readonly number[]): Uint8Array {
  const widths = ks.map(packedBits);
  const writer = new BitWriter();
  for (const latent of latents) {
    widths.forEach((width, level) => writer.writeBits(latent[level]!, width));
  }
  return writer.finish();
}

function unpackCodes(payload: Uint8Array, count: number, ks: readonly number[], source: string): Int32Array[] {
  const widths = ks.map(packedBits);
  const bitsPerLatent = widths.reduce((sum, width) => sum + width, 0);
  const expectedBytes = Math.ceil((count * bitsPerLatent) / 8);
  if (payload.length !== expectedBytes) {
    throw new DdnError(
      `${source}: packed payload has ${payload.length} bytes, expected ${expectedBytes} for ${count} latents of ${bitsPerLatent} bits`,
    );
  }
  const reader = new BitReader(payload);
  const latents: Int32Array[] = [];
  for (let image = 0; image < count; image++) {
    const latent = new Int32Array(ks.length);
    for (let level = 0; level < ks.length; level++) {
      const code = reader.readBits(widths[level]!);
      if (code >= ks[level]!) {
        throw new DdnError(`${source}: image ${image} level ${level} has code ${code}, outside [0, ${ks[level]})`);
      }
      latent[level] = code;
    }
    latents.push(latent);
  }
  if (reader.readBits(reader.remaining) !== 0) {
    throw new DdnError(`${source}: padding bits after the last code are not zero`);
  }
  return latents;
}
