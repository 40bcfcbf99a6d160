import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';

import { DdnError } from '../errors.js';
import { makeGrid, type GridOptions } from './grid.js';
import { validateImage, type ImageData32 } from './types.js';

const MAX_8_BIT = 255;
const MAX_16_BIT = 65535;

/**
 * Decodes an image file (PNG, JPEG or anything else sharp reads) into
 * values in [0, 1]. Gray images keep one channel and colour images get
 * three, converted to sRGB. An alpha channel is dropped without blending,
 * and the EXIF orientation is applied. 16-bit files keep their precision.
 * Throws DdnError when the file is missing or cannot be decoded.
 */
export async function readImage(path: string): Promise<ImageData32> {
  try {
    const metadata = await sharp(path).metadata();
    const isGray = metadata.space === 'b-w' || (metadata.channels ?? 3) <= 2;
    const is16Bit = metadata.depth === 'ushort';
    const { data, info } = await sharp(path)
      .autoOrient()
      .removeAlpha()
      .toColourspace(colourspaceFor(isGray, is16Bit))
      .raw({ depth: is16Bit ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return decodeRaw(data, info, is16Bit, path);
  } catch (error) {
    if (error instanceof DdnError) throw error;
    throw new DdnError(
      // libvips messages can span lines; the error stays on one.
      `${path}: cannot read image: ${(error as Error).message.trim().replace(/\s*\n\s*/g, '; ')}; ` +
        'expected a PNG or JPEG file',
    );
  }
}

/**
 * Picks sharp's output colour space. The 16-bit spaces keep the full
 * 0..65535 range, while 'b-w' and 'srgb' with 16-bit output still hold
 * 0..255 values (observed with sharp 0.35).
 */
function colourspaceFor(isGray: boolean, is16Bit: boolean): string {
  if (is16Bit) return isGray ? 'grey16' : 'rgb16';
  return isGray ? 'b-w' : 'srgb';
}

function decodeRaw(
  data: Buffer,
  info: OutputInfo,
  is16Bit: boolean,
  path: string,
): ImageData32 {
  const channels = info.channels;
  if (channels !== 1 && channels !== 3) {
    throw new DdnError(
      `${path}: decoded to ${channels} channels; expected 1 (gray) or 3 (RGB)`,
    );
  }
  // Copy 16-bit samples out, because the Buffer may start at an odd offset.
  const samples = is16Bit
    ? new Uint16Array(Uint8Array.from(data).buffer)
    : data;
  const scale = is16Bit ? MAX_16_BIT : MAX_8_BIT;
  if (samples.length !== info.height * info.width * channels) {
    throw new DdnError(
      `${path}: decoded ${samples.length} samples; expected ` +
        `${info.height}x${info.width}x${channels}`,
    );
  }
  const values = new Float32Array(samples.length);
  for (let index = 0; index < samples.length; index++) {
    values[index] = samples[index]! / scale;
  }
  return { data: values, height: info.height, width: info.width, channels };
}

/**
 * Encodes an image as an 8-bit PNG: gray images as gray PNGs, RGB as RGB.
 * Values are clamped to [0, 1] and rounded to the nearest of 256 levels;
 * NaN becomes 0.
 */
export async function encodePng(image: ImageData32): Promise<Buffer> {
  validateImage(image, 'encodePng');
  const bytes = Buffer.alloc(image.data.length);
  for (let index = 0; index < bytes.length; index++) {
    const value = image.data[index]!;
    // The comparison form also maps NaN to 0.
    const clamped = value > 0 ? Math.min(value, 1) : 0;
    bytes[index] = Math.round(clamped * MAX_8_BIT);
  }
  const raw = { width: image.width, height: image.height, channels: image.channels };
  const pipeline = sharp(bytes, { raw });
  // Without an explicit colour space sharp writes one channel as RGB.
  if (image.channels === 1) pipeline.toColourspace('b-w');
  return pipeline.png().toBuffer();
}

/**
 * Writes one image, or a list of images laid out as a grid, to a PNG file,
 * creating the parent folder if needed. `columns` defaults to the square
 * root of the count, rounded up, so a batch of 64 becomes an 8x8 grid.
 */
export async function writePng(
  path: string,
  images: ImageData32 | ImageData32[],
  options: GridOptions & { columns?: number } = {},
): Promise<void> {
  let image: ImageData32;
  if (Array.isArray(images)) {
    const columns = options.columns ?? Math.ceil(Math.sqrt(images.length));
    image = makeGrid(images, columns, options);
  } else {
    image = images;
  }
  const png = await encodePng(image);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, png);
}
