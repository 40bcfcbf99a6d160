import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { sha256Hex } from './hash.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

/** Builds a safetensors buffer from a raw header object and data bytes. */
function buildRaw(header: unknown, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const output = Buffer.alloc(8 + json.length + data.length);
  output.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(output, 8);
  output.set(data, 8 + json.length);
  return output;
}

/** Calls `action` and fails unless it returns or throws DdnError. */
function expectOnlyDdnError(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof DdnError)) throw error;
  }
}

describe('writeSafetensors and readSafetensors', () => {
  it('round-trips F32 and I32 tensors bit-exactly', () => {
    const weights = new Float32Array([
      0, -0, 1.5, -2.25, Number.MIN_VALUE, 3.4e38, Infinity, -Infinity, NaN,
    ]);
    const bits = new Uint32Array(weights.buffer).slice();
    const counts = new Int32Array([0, 1, -1, 2147483647, -2147483648, 7]);
    const buffer = writeSafetensors(
      {
        'layer.weight': { dtype: 'F32', shape: [3, 3], data: weights },
        counts: { dtype: 'I32', shape: [2, 3], data: counts },
        scalar: { dtype: 'F32', shape: [], data: new Float32Array([4]) },
        empty: { dtype: 'F32', shape: [0, 5], data: new Float32Array(0) },
      },
      { format: 'pt', config: '{"k":512}' },
    );

    const { tensors, metadata } = readSafetensors(buffer);

    expect(metadata).toEqual({ format: 'pt', config: '{"k":512}' });
    expect(Object.keys(tensors).sort()).toEqual(
      ['counts', 'empty', 'layer.weight', 'scalar'],
    );
    const weight = tensors['layer.weight']!;
    expect(weight.dtype).toBe('F32');
    expect(weight.shape).toEqual([3, 3]);
    expect(weight.data).toBeInstanceOf(Float32Array);
    expect(new Uint32Array(weight.data.buffer, weight.data.byteOffset, 9)).toEqual(bits);
    expect(tensors.counts!.data).toEqual(counts);
    expect(tensors.counts!.data).toBeInstanceOf(Int32Array);
    expect(tensors.scalar!.shape).toEqual([]);
    expect(tensors.scalar!.data).toEqual(new Float32Array([4]));
    expect(tensors.empty!.data.length).toBe(0);
  });

  it('writes the standard layout', () => {
    const buffer = writeSafetensors({
      b: { dtype: 'I32', shape: [1], data: new Int32Array([258]) },
      a: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) },
    });
    const headerLength = Number(buffer.readBigUInt64LE(0));
    const headerText = buffer.subarray(8, 8 + headerLength).toString('utf8');

    expect(headerLength % 8).toBe(0);
    expect(JSON.parse(headerText)).toEqual({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'I32', shape: [1], data_offsets: [8, 12] },
    });
    expect(headerText.indexOf('"a"')).toBeLessThan(headerText.indexOf('"b"'));
    expect(buffer.length).toBe(8 + headerLength + 12);
    expect(buffer.readInt32LE(8 + headerLength + 8)).toBe(258);
    expect(buffer.readFloatLE(8 + headerLength + 4)).toBe(2);
  });

  it('reads tensors at unaligned offsets', () => {
    // A header of odd length puts the data section at an odd byte offset.
    const header = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const data = new Uint8Array(new Float32Array([0.5, -3]).buffer);
    const buffer = buildRaw(header, data);
    expect(Number(buffer.readBigUInt64LE(0)) % 4).not.toBe(0);

    expect(readSafetensors(buffer).tensors.x!.data).toEqual(new Float32Array([0.5, -3]));
  });

  it('keeps a tensor named __proto__', () => {
    const tensors = JSON.parse('{"__proto__": 1}') as Record<string, unknown>;
    tensors['__proto__'] = { dtype: 'F32', shape: [1], data: new Float32Array([2]) };
    const read = readSafetensors(writeSafetensors(tensors as Parameters<typeof writeSafetensors>[0]));
    expect(Object.keys(read.tensors)).toEqual(['__proto__']);
    expect(read.tensors['__proto__']!.data).toEqual(new Float32Array([2]));
  });

  it('rejects mismatched dtype and shape on write', () => {
    expect(() =>
      writeSafetensors({ x: { dtype: 'I32', shape: [1], data: new Float32Array(1) } }),
    ).toThrow(/dtype I32 expects a Int32Array, found Float32Array/);
    expect(() =>
      writeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } }),
    ).toThrow(/shape \[2, 2\] has 4 elements but the data has 3/);
    expect(() =>
      writeSafetensors({ __metadata__: { dtype: 'F32', shape: [0], data: new Float32Array(0) } }),
    ).toThrow(DdnError);
  });

  const malformed: [string, Buffer, RegExp][] = [
    ['too short', Buffer.alloc(7), /at least 8 bytes/],
    ['header past end', buildRaw({}, new Uint8Array()).fill(0xff, 0, 8), /header length/],
    ['header not JSON', (() => {
      const b = buildRaw({ a: 1 }, new Uint8Array());
      b[8] = 0x7b + 1;
      return b;
    })(), /expected UTF-8 JSON/],
    ['header an array', buildRaw([1, 2], new Uint8Array()), /expected a JSON object/],
    ['unknown dtype', buildRaw({ x: { dtype: 'F16', shape: [1], data_offsets: [0, 2] } }, new Uint8Array(2)), /unsupported dtype "F16"/],
    ['negative shape', buildRaw({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /invalid shape/],
    ['offsets past end', buildRaw({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /out of range/],
    ['size mismatch', buildRaw({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /needs 12 bytes/],
    ['gap', buildRaw({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /expected it to start at byte 0/],
    ['trailing bytes', buildRaw({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8)), /cover 4 bytes but the data section has 8/],
    ['metadata not strings', buildRaw({ __metadata__: { a: 1 } }, new Uint8Array()), /expected a string/],
    ['extra key', buildRaw({ x: { dtype: 'F32', shape: [0], data_offsets: [0, 0], y: 1 } }, new Uint8Array()), /unexpected key 'y'/],
  ];
  for (const [name, buffer, message] of malformed) {
    it(`rejects ${name}`, () => {
      expect(() => readSafetensors(buffer, 'model.safetensors')).toThrow(DdnError);
      expect(() => readSafetensors(buffer, 'model.safetensors')).toThrow(message);
      expect(() => readSafetensors(buffer, 'model.safetensors')).toThrow(/^model\.safetensors: /);
    });
  }

  it('throws only DdnError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expectOnlyDdnError(() => readSafetensors(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('throws only DdnError on mutated valid files', () => {
    const valid = writeSafetensors(
      {
        a: { dtype: 'F32', shape: [2, 3], data: new Float32Array(6).fill(1.5) },
        b: { dtype: 'I32', shape: [4], data: new Int32Array([1, 2, 3, 4]) },
      },
      { note: 'x' },
    );
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      cut: fc.nat(valid.length),
    });
    fc.assert(
      fc.property(mutation, ({ edits, cut }) => {
        const bytes = Uint8Array.from(valid);
        for (const [index, value] of edits) bytes[index] = value;
        expectOnlyDdnError(() => readSafetensors(bytes.subarray(0, cut)));
        expectOnlyDdnError(() => readSafetensors(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('throws only DdnError on random JSON headers', () => {
    const entry = fc.record({
      dtype: fc.oneof(fc.constantFrom('F32', 'I32', 'F64'), fc.anything()),
      shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 3 }), fc.anything()),
      data_offsets: fc.oneof(fc.array(fc.integer({ min: -4, max: 64 }), { maxLength: 3 }), fc.anything()),
    }, { requiredKeys: [] });
    const header = fc.dictionary(fc.oneof(fc.constant('__metadata__'), fc.string()), fc.oneof(entry, fc.jsonValue()));
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 64 }), (value, data) => {
        const buffer = buildRaw(value, data);
        expectOnlyDdnError(() => readSafetensors(buffer));
      }),
      { numRuns: 3000 },
    );
  });

  it('round-trips random tensors', () => {
    const tensor = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }).chain((shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      return fc.oneof(
        fc.float32Array({ minLength: size, maxLength: size }).map((data) => ({ dtype: 'F32' as const, shape, data })),
        fc.int32Array({ minLength: size, maxLength: size }).map((data) => ({ dtype: 'I32' as const, shape, data })),
      );
    });
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }).filter((n) => n !== '__metadata__'), tensor), (tensors) => {
        const { tensors: read } = readSafetensors(writeSafetensors(tensors));
        expect(Object.keys(read).sort()).toEqual(Object.keys(tensors).sort());
        for (const [name, original] of Object.entries(tensors)) {
          const copy = read[name]!;
          expect(copy.dtype).toBe(original.dtype);
          expect(copy.shape).toEqual(original.shape);
          expect(Buffer.from(copy.data.buffer, copy.data.byteOffset, copy.data.byteLength))
            .toEqual(Buffer.from(original.data.buffer, original.data.byteOffset, original.data.byteLength));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('sha256Hex', () => {
  it('matches the known digest of "abc"', () => {
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256Hex(Buffer.from('abc'))).toBe(sha256Hex('abc'));
  });
});
