import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { arithmeticDecode, arithmeticEncode } from './arithmetic.js';
import { crc32 } from './crc32.js';
import { type LatentCoding, type LatentFile, packedBits, readLatentFile, writeLatentFile } from './format.js';

const HASH = 'ab'.repeat(32);

/** Random K per level (some non-powers of two) and latents within them. */
const latentContent = fc
  .array(fc.integer({ min: 2, max: 300 }), { minLength: 1, maxLength: 6 })
  .chain((ks) =>
    fc.record({
      ks: fc.constant(ks),
      latents: fc.array(fc.tuple(...ks.map((k) => fc.integer({ min: 0, max: k - 1 }))), { maxLength: 40 }),
      coding: fc.constantFrom<LatentCoding>('packed', 'arithmetic'),
    }),
  )
  .map(({ ks, latents, coding }) => ({
    coding,
    weightsSha256: HASH,
    ks,
    latents: latents.map((latent) => Int32Array.from(latent)),
  }));

function expectDdnError(action: () => unknown): DdnError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(DdnError);
    return error as DdnError;
  }
  throw new Error('expected a DdnError, but nothing was thrown');
}

function sample(coding: LatentCoding): LatentFile {
  return {
    coding,
    weightsSha256: HASH,
    ks: [8, 8, 5],
    latents: [Int32Array.from([1, 7, 4]), Int32Array.from([0, 3, 2]), Int32Array.from([6, 6, 0])],
  };
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

describe('packedBits', () => {
  it('is ceil(log2 K)', () => {
    expect([2, 3, 4, 5, 8, 9, 512, 65536].map(packedBits)).toEqual([1, 2, 2, 3, 3, 4, 9, 16]);
  });
});

describe('latent file round trip', () => {
  it('gives back the exact latents', () => {
    fc.assert(
      fc.property(latentContent, (content) => {
        const parsed = readLatentFile(writeLatentFile(content));
        expect(parsed.coding).toBe(content.coding);
        expect(parsed.weightsSha256).toBe(HASH);
        expect(parsed.ks).toEqual(content.ks);
        expect(parsed.latents).toEqual(content.latents);
      }),
      { numRuns: 300 },
    );
  });

  it('packs 3 images of 8, 8, 5 into 27 bits', () => {
    const bytes = writeLatentFile(sample('packed'));
    // 48 header bytes + 2·3 for K, 4 payload bytes, 4 CRC bytes.
    expect(bytes.length).toBe(48 + 6 + 4 + 4);
  });

  it('keeps 65536-node levels', () => {
    const content: LatentFile = { coding: 'arithmetic', weightsSha256: HASH, ks: [65536, 2], latents: [Int32Array.from([65535, 1])] };
    expect(readLatentFile(writeLatentFile(content)).latents).toEqual(content.latents);
    expect(readLatentFile(writeLatentFile({ ...content, coding: 'packed' })).latents).toEqual(content.latents);
  });
});

describe('arithmetic coding', () => {
  it('costs close to the entropy on skewed codes', () => {
    // Level 0 is always 3 and level 1 uniform over 4: about 2 bits a latent.
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const latents = Array.from({ length: 4000 }, () => Int32Array.from([3, Math.floor(next() * 4)]));
    const bytes = arithmeticEncode(latents, [8, 4]);
    expect(bytes.length * 8).toBeLessThan(4000 * 2.1);
    expect(bytes.length * 8).toBeGreaterThan(4000 * 1.9);
    expect(arithmeticDecode(bytes, latents.length, [8, 4], 'test')).toEqual(latents);
  });

  it('rejects a payload far too short for its count', () => {
    const bytes = arithmeticEncode([Int32Array.from([1, 2])], [8, 8]);
    expect(() => arithmeticDecode(bytes, 1000, [8, 8], 'test')).toThrow(/truncated/);
  });
});

describe('latent file parser', () => {
  it('rejects a foreign file', () => {
    const error = expectDdnError(() => readLatentFile(new TextEncoder().encode('\x89PNG\r\n\x1a\n....'), 'x.png'));
    expect(error.message).toContain('not a DDN latent file');
  });

  it('rejects another version', () => {
    const bytes = writeLatentFile(sample('packed'));
    bytes[4] = 2;
    expect(expectDdnError(() => readLatentFile(bytes)).message).toContain('version 2 is not supported');
  });

  it('rejects every truncation', () => {
    for (const coding of ['packed', 'arithmetic'] as const) {
      const bytes = writeLatentFile(sample(coding));
      for (let length = 0; length < bytes.length; length++) {
        const message = expectDdnError(() => readLatentFile(bytes.subarray(0, length))).message;
        expect(message).toMatch(/truncated|not a DDN latent file|invalid level count/);
      }
    }
  });

  it('rejects trailing bytes', () => {
    const bytes = writeLatentFile(sample('packed'));
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(expectDdnError(() => readLatentFile(longer)).message).toContain('after the checksum');
  });

  it('rejects every single-bit flip', () => {
    for (const coding of ['packed', 'arithmetic'] as const) {
      const bytes = writeLatentFile(sample(coding));
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        const corrupted = bytes.slice();
        corrupted[bit >> 3]! ^= 1 << (bit & 7);
        expectDdnError(() => readLatentFile(corrupted));
      }
    }
  });

  it('rejects random bytes with DdnError only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (random, withMagic) => {
        const bytes = random.slice();
        if (withMagic && bytes.length >= 4) bytes.set([0x44, 0x44, 0x4e, 0x4c]);
        expectDdnError(() => readLatentFile(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects mutated files with DdnError only', () => {
    fc.assert(
      fc.property(
        latentContent,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (content, edits) => {
          const original = writeLatentFile(content);
          const bytes = original.slice();
          for (const [position, xor] of edits) bytes[position % bytes.length]! ^= xor;
          // Edits at one position may cancel out; such cases are not mutations.
          fc.pre(bytes.some((byte, i) => byte !== original[i]));
          // CRC-32 detects every change of up to 32 consecutive bits; other
          // changes pass it with probability 2^-32.
          expectDdnError(() => readLatentFile(bytes));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('parses mutated files with a recomputed checksum without crashing', () => {
    // With a valid CRC the parser must still check every field itself.
    fc.assert(
      fc.property(latentContent, fc.nat(), fc.integer({ min: 1, max: 255 }), (content, position, xor) => {
        const bytes = writeLatentFile(content);
        const crcOffset = bytes.length - 4;
        bytes[position % crcOffset]! ^= xor;
        new DataView(bytes.buffer).setUint32(crcOffset, crc32(bytes.subarray(0, crcOffset)), true);
        try {
          const parsed = readLatentFile(bytes);
          parsed.latents.forEach((latent) => {
            expect(latent.length).toBe(parsed.ks.length);
            latent.forEach((code, level) => {
              expect(code).toBeGreaterThanOrEqual(0);
              expect(code).toBeLessThan(parsed.ks[level]!);
            });
          });
        } catch (error) {
          expect(error).toBeInstanceOf(DdnError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('names the source in messages', () => {
    const bytes = writeLatentFile(sample('packed'));
    expect(expectDdnError(() => readLatentFile(bytes.subarray(0, 50), 'codes.ddnl')).message).toMatch(/^codes\.ddnl: /);
  });
});

describe('writeLatentFile', () => {
  it('rejects codes outside K', () => {
    const content = { ...sample('packed'), latents: [Int32Array.from([1, 8, 0])] };
    expect(expectDdnError(() => writeLatentFile(content)).message).toContain('outside [0, 8)');
  });

  it('rejects K above 65536', () => {
    const content = { ...sample('packed'), ks: [70000], latents: [] };
    expect(expectDdnError(() => writeLatentFile(content)).message).toContain('invalid K 70000');
  });
});
