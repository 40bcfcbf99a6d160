/**
 * Parsing of IDX files, the format of MNIST and Fashion-MNIST. An IDX file
 * is a 4-byte magic number (two zero bytes, a type code and the number of
 * dimensions), one big-endian uint32 per dimension, then the values in
 * row-major order, big-endian.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';

import { DdnError } from '../errors.js';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export type IdxData =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A parsed IDX file: its dimensions, value type and values. */
export interface IdxArray {
  dims: number[];
  type: IdxType;
  data: IdxData;
}

const TYPES: Record<number, { type: IdxType; bytes: number }> = {
  0x08: { type: 'uint8', bytes: 1 },
  0x09: { type: 'int8', bytes: 1 },
  0x0b: { type: 'int16', bytes: 2 },
  0x0c: { type: 'int32', bytes: 4 },
  0x0d: { type: 'float32', bytes: 4 },
  0x0e: { type: 'float64', bytes: 8 },
};

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Parses an IDX buffer, decompressing it first when it starts with the gzip
 * magic bytes. `source` names the data in error messages.
 *
 * Throws DdnError for a gzip stream that fails to decompress, a wrong magic
 * number, an unknown type code or zero dimensions. The length must be
 * exactly header + product(dims) * value size, so truncated files and
 * trailing bytes both throw. All reads stay inside the buffer.
 */
export function parseIdx(buffer: Uint8Array, source = 'IDX data'): IdxArray {
  const bytes = isGzip(buffer) ? gunzip(buffer, source) : buffer;

  // Magic number: 0x00 0x00, type code, number of dimensions.
  if (bytes.length < 4) {
    throw new DdnError(
      `${source}: invalid IDX file: expected a 4-byte header, found ${bytes.length} bytes`,
    );
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DdnError(
      `${source}: invalid IDX magic number: expected 0x0000 first, found ` +
        `0x${hex(bytes[0]!)}${hex(bytes[1]!)}`,
    );
  }
  const typeInfo = TYPES[bytes[2]!];
  if (typeInfo === undefined) {
    throw new DdnError(
      `${source}: invalid IDX type code 0x${hex(bytes[2]!)}; expected one of ` +
        '0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e',
    );
  }
  const rank = bytes[3]!;
  if (rank === 0) {
    throw new DdnError(`${source}: invalid IDX header: expected at least one dimension, found 0`);
  }

  // Dimensions, then an exact length check.
  const headerLength = 4 + 4 * rank;
  if (bytes.length < headerLength) {
    throw new DdnError(
      `${source}: truncated IDX header: ${rank} dimensions need ` +
        `${headerLength} bytes, found ${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const dims: number[] = [];
  for (let axis = 0; axis < rank; axis++) dims.push(view.getUint32(4 + 4 * axis, false));
  // Floats are exact below 2^53 and only grow past it, so a huge product
  // still compares as too large.
  const count = dims.includes(0) ? 0 : dims.reduce((product, side) => product * side, 1);
  const expectedLength = headerLength + count * typeInfo.bytes;
  if (bytes.length !== expectedLength) {
    const problem =
      bytes.length < expectedLength ? 'truncated IDX data' : 'trailing bytes after IDX data';
    throw new DdnError(
      `${source}: ${problem}: dims [${dims.join(', ')}] of ${typeInfo.type} ` +
        `need ${expectedLength} bytes, found ${bytes.length}`,
    );
  }

  return { dims, type: typeInfo.type, data: readValues(view, headerLength, count, typeInfo.type) };
}

/** Reads and parses an IDX file, gzip-compressed or not. */
export async function readIdxFile(path: string): Promise<IdxArray> {
  let buffer: Buffer;
  try {
    buffer = await readFile(path);
  } catch (error) {
    throw new DdnError(`${path}: cannot read IDX file: ${(error as Error).message}`);
  }
  return parseIdx(buffer, path);
}

function readValues(view: DataView, offset: number, count: number, type: IdxType): IdxData {
  const start = view.byteOffset + offset;
  switch (type) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(start, start + count));
    case 'int8':
      return new Int8Array(view.buffer.slice(start, start + count));
    case 'int16': {
      const values = new Int16Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getInt16(offset + 2 * i, false);
      return values;
    }
    case 'int32': {
      const values = new Int32Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getInt32(offset + 4 * i, false);
      return values;
    }
    case 'float32': {
      const values = new Float32Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getFloat32(offset + 4 * i, false);
      return values;
    }
    case 'float64': {
      const values = new Float64Array(count);
      for (let i = 0; i < count; i++) values[i] = view.getFloat64(offset + 8 * i, false);
      return values;
    }
  }
}

function isGzip(buffer: Uint8Array): boolean {
  return buffer.length >= 2 && buffer[0] === GZIP_MAGIC[0] && buffer[1] === GZIP_MAGIC[1];
}

function gunzip(buffer: Uint8Array, source: string): Buffer {
  try {
    return gunzipSync(buffer);
  } catch (error) {
    throw new DdnError(`${source}: invalid gzip data: ${(error as Error).message}`);
  }
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
