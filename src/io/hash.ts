import { createHash } from 'node:crypto';

/** Computes the SHA-256 digest of `data` as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
