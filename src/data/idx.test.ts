import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { parseIdx } from './idx.js';

/** Builds an IDX buffer: magic, big-endian dims, then the given body bytes. */
function idxBuffer(typeCode: number, dims: number[], body: number[]): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = typeCode;
  header[3] = dims.length;
  dims.forEach((side, axis) => header.writeUInt32BE(side, 4 + 4 * axis));
  return Buffer.concat([header, Buffer.from(body)]);
}

function expectOnlyDdnError(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof DdnError)) throw error;
  }
}

describe('parseIdx', () => {
  it('parses a 2x2x3 unsigned byte file exactly', () => {
    const body = [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255];
    const parsed = parseIdx(idxBuffer(0x08, [2, 2, 3], body));

    expect(parsed.dims).toEqual([2, 2, 3]);
    expect(parsed.type).toBe('uint8');
    expect(parsed.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(parsed.data)).toEqual(body);
  });

  it('reads big-endian int16, int32, float32 and float64', () => {
    const int16 = parseIdx(idxBuffer(0x0b, [2], [0x01, 0x02, 0xff, 0xfe]));
    expect(int16.type).toBe('int16');
    expect(Array.from(int16.data)).toEqual([0x0102, -2]);

    const int32 = parseIdx(idxBuffer(0x0c, [1], [0x80, 0, 0, 1]));
    expect(Array.from(int32.data)).toEqual([-2147483647]);

    const float32 = parseIdx(idxBuffer(0x0d, [1], [0x3f, 0xc0, 0, 0]));
    expect(Array.from(float32.data)).toEqual([1.5]);

    const float64 = parseIdx(idxBuffer(0x0e, [1], [0xc0, 0x04, 0, 0, 0, 0, 0, 0]));
    expect(Array.from(float64.data)).toEqual([-2.5]);

    const int8 = parseIdx(idxBuffer(0x09, [2], [0x7f, 0x80]));
    expect(Array.from(int8.data)).toEqual([127, -128]);
  });

  it('decompresses gzip input', () => {
    const plain = idxBuffer(0x08, [3], [7, 8, 9]);
    const parsed = parseIdx(gzipSync(plain));
    expect(Array.from(parsed.data)).toEqual([7, 8, 9]);
  });

  it('accepts an empty first dimension', () => {
    expect(parseIdx(idxBuffer(0x08, [0, 28, 28], [])).data.length).toBe(0);
  });

  const invalid: [string, Uint8Array, RegExp][] = [
    ['a short header', Uint8Array.from([0, 0, 8]), /expected a 4-byte header/],
    ['a wrong magic', Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0]), /invalid IDX magic number/],
    ['an unknown type', idxBuffer(0x0a, [1], [0]), /invalid IDX type code 0x0a/],
    ['zero dimensions', Uint8Array.from([0, 0, 8, 0]), /at least one dimension/],
    ['truncated dims', idxBuffer(0x08, [2, 2], [1, 2, 3, 4]).subarray(0, 9), /truncated IDX header/],
    ['truncated data', idxBuffer(0x08, [2, 2], [1, 2, 3]), /truncated IDX data/],
    ['trailing bytes', idxBuffer(0x08, [2], [1, 2, 3]), /trailing bytes/],
    ['huge dims', idxBuffer(0x0e, [0xffffffff, 0xffffffff, 0xffffffff], [1]), /truncated IDX data/],
    ['broken gzip', Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), /invalid gzip data/],
  ];
  for (const [name, buffer, message] of invalid) {
    it(`rejects ${name}`, () => {
      expect(() => parseIdx(buffer, 'digits.idx')).toThrow(DdnError);
      expect(() => parseIdx(buffer, 'digits.idx')).toThrow(message);
      expect(() => parseIdx(buffer, 'digits.idx')).toThrow(/^digits\.idx: /);
    });
  }

  it('throws only DdnError on random bytes', () => {
    const header = fc.tuple(fc.constantFrom(0, 1), fc.constantFrom(0x08, 0x0b, 0x0d, 0x0e, 0x33), fc.integer({ min: 0, max: 4 }));
    const buffer = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.tuple(header, fc.uint8Array({ maxLength: 64 })).map(([[zero, type, rank], rest]) =>
        Uint8Array.from([0, zero, type, rank, ...rest])),
    );
    fc.assert(
      fc.property(buffer, (bytes) => {
        expectOnlyDdnError(() => parseIdx(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('throws only DdnError on mutated and cut valid files', () => {
    const valid = idxBuffer(0x0d, [2, 3], new Array(24).fill(0).map((_, i) => i * 7));
    const compressed = gzipSync(valid);
    const mutation = fc.record({
      gzip: fc.boolean(),
      edits: fc.array(fc.tuple(fc.nat(63), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.nat(64),
    });
    fc.assert(
      fc.property(mutation, ({ gzip, edits, cut }) => {
        const bytes = Uint8Array.from(gzip ? compressed : valid);
        for (const [index, value] of edits) if (index < bytes.length) bytes[index] = value;
        expectOnlyDdnError(() => parseIdx(bytes));
        expectOnlyDdnError(() => parseIdx(bytes.subarray(0, cut)));
      }),
      { numRuns: 3000 },
    );
  });
});
