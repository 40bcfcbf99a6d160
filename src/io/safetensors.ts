/**
 * Reading and writing the safetensors format (as written by the Hugging Face
 * `safetensors` library). The layout is:
 *
 *   [8 bytes]  header length N, unsigned 64-bit little-endian
 *   [N bytes]  JSON header: { "__metadata__"?: {string: string},
 *              name: { dtype, shape, data_offsets: [begin, end] }, ... }
 *   [rest]     tensor bytes, little-endian, row-major; offsets are relative
 *              to the start of this section
 *
 * Only F32 and I32 tensors are supported, because those are the only
 * dtypes this project stores.
 */
import { DdnError } from '../errors.js';

export type SafetensorsDtype = 'F32' | 'I32';

/** One tensor: its dtype, its shape and its values in row-major order. */
export interface SafetensorsTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array | Int32Array;
}

/** The decoded content of a safetensors buffer. */
export interface SafetensorsContent {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

const METADATA_KEY = '__metadata__';
const BYTES_PER_ELEMENT = 4;
const HEADER_LENGTH_BYTES = 8;

/** Largest accepted JSON header, in bytes, which stops absurd allocations. */
export const MAX_HEADER_BYTES = 100_000_000;

// Typed arrays use the host byte order, and the format is little-endian.
// Node.js ships only for little-endian processors, so a copy is enough.
const hostIsLittleEndian =
  new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!hostIsLittleEndian) {
    throw new Error('safetensors: big-endian hosts are not supported');
  }
}

/**
 * Serializes tensors and optional string metadata to a safetensors buffer.
 * Tensors are stored in name order, and the header is padded with spaces
 * to a multiple of 8 bytes so that every tensor starts 8-byte aligned.
 * Throws DdnError when a name is empty or reserved, when a dtype does not
 * match its array type, or when the data length differs from the shape.
 */
export function writeSafetensors(
  tensors: Record<string, SafetensorsTensor>,
  metadata?: Record<string, string>,
): Buffer {
  assertLittleEndianHost();
  const names = Object.keys(tensors).sort();

  // Build the header and the offset of each tensor.
  // No prototype, so that a tensor named "__proto__" becomes an own key.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata !== undefined) {
    header[METADATA_KEY] = validateMetadata(metadata, 'writeSafetensors');
  }
  let offset = 0;
  for (const name of names) {
    const tensor = tensors[name]!;
    validateTensorForWrite(name, tensor);
    const byteLength = tensor.data.length * BYTES_PER_ELEMENT;
    header[name] = {
      dtype: tensor.dtype,
      shape: tensor.shape,
      data_offsets: [offset, offset + byteLength],
    };
    offset += byteLength;
  }

  // Pad the JSON so that the data section starts at a multiple of 8.
  let headerText = JSON.stringify(header);
  const headerBytes = Buffer.byteLength(headerText, 'utf8');
  headerText += ' '.repeat((8 - (headerBytes % 8)) % 8);
  const headerBuffer = Buffer.from(headerText, 'utf8');

  // Assemble length, header and tensor bytes.
  const output = Buffer.alloc(
    HEADER_LENGTH_BYTES + headerBuffer.length + offset,
  );
  output.writeBigUInt64LE(BigInt(headerBuffer.length), 0);
  headerBuffer.copy(output, HEADER_LENGTH_BYTES);
  let position = HEADER_LENGTH_BYTES + headerBuffer.length;
  for (const name of names) {
    const data = tensors[name]!.data;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    output.set(bytes, position);
    position += bytes.length;
  }
  return output;
}

/**
 * Parses a safetensors buffer and copies every tensor into a new typed
 * array. `source` names the buffer in error messages (a file path, say).
 *
 * Validation is strict. The header length must fit the buffer, and the
 * header must be a JSON object. Every entry needs a supported dtype, a
 * shape of non-negative integers and offsets whose span matches that
 * shape. The tensors must tile the data section with no gap, overlap or
 * trailing bytes. Any violation throws DdnError, and no read goes past
 * the buffer.
 */
export function readSafetensors(
  buffer: Uint8Array,
  source = 'safetensors data',
): SafetensorsContent {
  assertLittleEndianHost();

  // Header length and JSON header.
  if (buffer.length < HEADER_LENGTH_BYTES) {
    throw new DdnError(
      `${source}: invalid safetensors file: expected at least 8 bytes, ` +
        `found ${buffer.length}`,
    );
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.length);
  const headerLength = view.getBigUint64(0, true);
  const available = buffer.length - HEADER_LENGTH_BYTES;
  if (headerLength > BigInt(Math.min(available, MAX_HEADER_BYTES))) {
    throw new DdnError(
      `${source}: invalid safetensors header length ${headerLength}: ` +
        `expected at most ${Math.min(available, MAX_HEADER_BYTES)} bytes`,
    );
  }
  const dataStart = HEADER_LENGTH_BYTES + Number(headerLength);
  const header = parseHeaderJson(buffer.subarray(HEADER_LENGTH_BYTES, dataStart), source);

  // Metadata and tensor entries.
  const dataLength = buffer.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: { name: string; info: TensorInfo }[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      metadata = validateMetadata(value, source);
    } else {
      entries.push({ name, info: validateTensorInfo(name, value, dataLength, source) });
    }
  }

  // The tensors must cover the data section exactly, in offset order.
  entries.sort((a, b) => a.info.begin - b.info.begin || a.info.end - b.info.end);
  let expectedBegin = 0;
  for (const { name, info } of entries) {
    if (info.begin !== expectedBegin) {
      throw new DdnError(
        `${source}: invalid safetensors offsets for tensor '${name}': ` +
          `expected it to start at byte ${expectedBegin}, found ${info.begin}`,
      );
    }
    expectedBegin = info.end;
  }
  if (expectedBegin !== dataLength) {
    throw new DdnError(
      `${source}: invalid safetensors file: tensors cover ${expectedBegin} ` +
        `bytes but the data section has ${dataLength}`,
    );
  }

  // Copy each tensor into its own aligned array.
  const tensors = entries.map(({ name, info }) => {
    // A fresh buffer, because Buffer.slice returns a view at any offset.
    const bytes = new Uint8Array(info.end - info.begin);
    bytes.set(buffer.subarray(dataStart + info.begin, dataStart + info.end));
    const data =
      info.dtype === 'F32'
        ? new Float32Array(bytes.buffer)
        : new Int32Array(bytes.buffer);
    const tensor: SafetensorsTensor = { dtype: info.dtype, shape: info.shape, data };
    return [name, tensor] as const;
  });
  return { tensors: Object.fromEntries(tensors), metadata };
}

interface TensorInfo {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeaderJson(
  bytes: Uint8Array,
  source: string,
): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new DdnError(
      `${source}: invalid safetensors header: expected UTF-8 JSON ` +
        `(${(error as Error).message})`,
    );
  }
  if (!isPlainObject(header)) {
    throw new DdnError(
      `${source}: invalid safetensors header: expected a JSON object, ` +
        `found ${describe(header)}`,
    );
  }
  return header;
}

function validateTensorInfo(
  name: string,
  value: unknown,
  dataLength: number,
  source: string,
): TensorInfo {
  const where = `${source}: tensor '${name}'`;
  if (!isPlainObject(value)) {
    throw new DdnError(`${where}: expected an object, found ${describe(value)}`);
  }
  const { dtype, shape, data_offsets: offsets, ...rest } = value;
  const unknownKeys = Object.keys(rest);
  if (unknownKeys.length > 0) {
    throw new DdnError(`${where}: unexpected key '${unknownKeys[0]}'`);
  }
  if (dtype !== 'F32' && dtype !== 'I32') {
    throw new DdnError(
      `${where}: unsupported dtype ${describe(dtype)}; expected F32 or I32`,
    );
  }
  if (!isIntegerList(shape)) {
    throw new DdnError(
      `${where}: invalid shape ${describe(shape)}; expected a list of ` +
        'non-negative integers',
    );
  }
  if (!isIntegerList(offsets) || offsets.length !== 2) {
    throw new DdnError(
      `${where}: invalid data_offsets ${describe(offsets)}; expected ` +
        '[begin, end] with non-negative integers',
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) {
    throw new DdnError(
      `${where}: data_offsets [${begin}, ${end}] out of range; expected ` +
        `begin <= end <= ${dataLength}`,
    );
  }

  // A float product stays exact below 2^53 and only grows past it, so a
  // huge shape still compares as too large. A zero side short-cuts the
  // product, which could otherwise reach Infinity * 0 = NaN.
  const expectedBytes = shape.includes(0)
    ? 0
    : shape.reduce((product, side) => product * side, BYTES_PER_ELEMENT);
  if (expectedBytes !== end - begin) {
    throw new DdnError(
      `${where}: shape [${shape.join(', ')}] needs ${expectedBytes} bytes ` +
        `of ${dtype} but data_offsets span ${end - begin}`,
    );
  }
  return { dtype, shape, begin, end };
}

function validateMetadata(
  value: unknown,
  source: string,
): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new DdnError(
      `${source}: invalid ${METADATA_KEY}: expected an object of strings, ` +
        `found ${describe(value)}`,
    );
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry !== 'string') {
      throw new DdnError(
        `${source}: invalid ${METADATA_KEY} entry '${key}': expected a ` +
          `string, found ${describe(entry)}`,
      );
    }
  }
  return { ...(value as Record<string, string>) };
}

function validateTensorForWrite(name: string, tensor: SafetensorsTensor): void {
  const where = `writeSafetensors: tensor '${name}'`;
  if (name === '' || name === METADATA_KEY) {
    throw new DdnError(
      `${where}: invalid name; expected a non-empty name other than ${METADATA_KEY}`,
    );
  }
  const expectedType = tensor.dtype === 'F32' ? Float32Array : Int32Array;
  if (!(tensor.data instanceof expectedType)) {
    throw new DdnError(
      `${where}: dtype ${tensor.dtype} expects a ${expectedType.name}, ` +
        `found ${tensor.data?.constructor?.name ?? describe(tensor.data)}`,
    );
  }
  if (!isIntegerList(tensor.shape)) {
    throw new DdnError(
      `${where}: invalid shape ${describe(tensor.shape)}; expected a list ` +
        'of non-negative integers',
    );
  }
  const size = tensor.shape.reduce((product, side) => product * side, 1);
  if (size !== tensor.data.length) {
    throw new DdnError(
      `${where}: shape [${tensor.shape.join(', ')}] has ${size} elements ` +
        `but the data has ${tensor.data.length}`,
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIntegerList(value: unknown): value is number[] {
  return (
    Array.isArray(value) &&
    value.every((item) => Number.isSafeInteger(item) && item >= 0)
  );
}

/** Formats an arbitrary JSON value for an error message, cut to 60 characters. */
function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
