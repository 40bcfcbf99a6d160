/** `ddn encode`: images to a latent file, with its size against PNG and JPEG. */
import { existsSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import { type Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { psnrPerImage } from '../eval/metrics.js';
import { readImage } from '../image/codec.js';
import { loadModel } from '../io/modelDir.js';
import { jpegAtPsnr, pngBytes } from '../latent/compare.js';
import { type LatentCoding, MAX_LATENT_IMAGES, writeLatentFile } from '../latent/format.js';
import { bitsPerImage } from '../model/config.js';
import { toImages } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import { fitToModel } from './fitImage.js';
import { makeOutput, type Output } from './output.js';
import { parseChoice, parseInteger, parseOutputFile } from './parse.js';

export interface EncodeCommandOptions {
  model: string;
  input: string;
  out: string;
  /** 'auto' writes whichever coding is smaller. */
  coding: LatentCoding | 'auto';
  /** Maximum number of images to encode; all when undefined. */
  n?: number;
  /** Also measure PNG and same-PSNR JPEG sizes of every image. */
  compare: boolean;
  backend?: BackendName;
}

export async function encodeCommand(o: EncodeCommandOptions, out: Output): Promise<void> {
  await startBackend(o.backend, out);
  const { model, file } = await loadModel(o.model);
  try {
    const { imageSize, imageChannels } = model.config;
    const data = await loadImages(o.input, imageSize, imageChannels, o.n);
    const n = data.count;
    const ks = model.ks;

    // Find the latents and how well they reconstruct.
    const result = model.reconstruct(data.images);
    const psnrs = psnrPerImage(data.images, result.images, n);
    const meanPsnr = psnrs.reduce((sum, v) => sum + v, 0) / n;

    // Code both ways and keep the requested or the smaller one.
    const content = { weightsSha256: file.weights.sha256, ks, latents: result.latents };
    const packed = writeLatentFile({ ...content, coding: 'packed' });
    const arithmetic = writeLatentFile({ ...content, coding: 'arithmetic' });
    const smaller: LatentCoding = arithmetic.length < packed.length ? 'arithmetic' : 'packed';
    const coding = o.coding === 'auto' ? smaller : o.coding;
    const bytes = coding === 'packed' ? packed : arithmetic;
    await mkdir(dirname(o.out), { recursive: true });
    await writeFile(o.out, bytes);

    const bits = bitsPerImage(model.config);
    out.result(`encoded ${n} image${n === 1 ? '' : 's'} from ${data.name}: mean PSNR ${meanPsnr.toFixed(2)} dB`);
    out.result(`latent: ${ks.length} levels, ${bits.toFixed(1)} bits per image (log2 K summed over levels)`);
    out.result(`packed: ${packed.length} bytes; arithmetic-coded: ${arithmetic.length} bytes; wrote ${coding} to ${o.out}`);

    const entropies = levelEntropies(result.latents, ks);
    const entropy = entropies.reduce((sum, bits) => sum + bits, 0);
    out.result(
      `node frequencies: ${entropy.toFixed(2)} bits of entropy per image ` +
        `(per level: ${entropies.map((bits) => bits.toFixed(2)).join(', ')})`,
    );

    let comparison: Record<string, number> | undefined;
    if (o.compare) {
      comparison = await compareCodecs(toImages(data.images, n, imageSize, imageChannels), psnrs);
      out.result(
        `per image: latent ${(bytes.length / n).toFixed(2)} bytes (file), PNG ${comparison.pngBytes.toFixed(1)} bytes, ` +
          `JPEG at the same PSNR ${comparison.jpegBytes.toFixed(1)} bytes (mean quality ${comparison.jpegQuality.toFixed(1)})`,
      );
    }
    out.json({
      images: n,
      psnr: meanPsnr,
      bitsPerImage: bits,
      ks,
      coding,
      bytes: bytes.length,
      packedBytes: packed.length,
      arithmeticBytes: arithmetic.length,
      levelEntropyBits: entropies,
      ...(comparison === undefined ? {} : { comparison }),
    });
  } finally {
    model.dispose();
  }
}

/** Computes the empirical entropy in bits of each level's node frequencies, [L]. */
function levelEntropies(latents: Int32Array[], ks: number[]): number[] {
  return ks.map((k, level) => {
    const counts = new Float64Array(k);
    for (const latent of latents) counts[latent[level]!]!++;
    let bits = 0;
    for (const count of counts) {
      if (count > 0) bits -= (count / latents.length) * Math.log2(count / latents.length);
    }
    return bits;
  });
}

/** Mean bytes per image of PNG and of JPEG at each image's reconstruction PSNR. */
async function compareCodecs(
  images: ReturnType<typeof toImages>,
  psnrs: number[],
): Promise<{ pngBytes: number; jpegBytes: number; jpegQuality: number; jpegPsnr: number }> {
  let png = 0;
  let jpeg = 0;
  let quality = 0;
  let jpegPsnr = 0;
  for (let i = 0; i < images.length; i++) {
    png += await pngBytes(images[i]!);
    const match = await jpegAtPsnr(images[i]!, psnrs[i]!);
    jpeg += match.bytes;
    quality += match.quality;
    jpegPsnr += match.psnr;
  }
  const n = images.length;
  return { pngBytes: png / n, jpegBytes: jpeg / n, jpegQuality: quality / n, jpegPsnr: jpegPsnr / n };
}

/** Loads a PNG/JPEG file, a folder of images, or the test split of mnist or fashion-mnist. */
async function loadImages(input: string, size: number, channels: 1 | 3, limit: number | undefined): Promise<Dataset> {
  const isFile = existsSync(input) && statSync(input).isFile();
  let dataset: Dataset;
  if (isFile && /\.(png|jpe?g)$/i.test(input)) {
    const image = fitToModel(await readImage(input), size, channels, input);
    dataset = { name: input, images: image.data, count: 1, height: size, width: size, channels };
  } else {
    const split = input === 'mnist' || input === 'fashion-mnist' ? 'test' : 'all';
    dataset = await loadDataset(input, { split, imageSize: size, limit });
  }
  if (dataset.height !== size || dataset.width !== size || dataset.channels !== channels) {
    throw new DdnError(
      `${input}: images are ${dataset.height}×${dataset.width}×${dataset.channels}, the model takes ${size}×${size}×${channels}`,
    );
  }
  if (dataset.count === 0) {
    throw new DdnError(`${input}: no images to encode`);
  }
  return dataset;
}

/** Adds `ddn encode` to the program. */
export function registerEncodeCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('encode')
    .description('find the latents of images and write them to a latent file (.ddnl)')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .requiredOption('--input <spec>', 'a PNG/JPEG file, a folder of images, mnist or fashion-mnist (their test split)')
    .requiredOption('--out <file.ddnl>', 'latent file to write', parseOutputFile('out', '.ddnl'))
    .addOption(
      new Option('--coding <name>', 'payload coding: packed (ceil(log2 K) bits a code), arithmetic, or auto (the smaller)')
        .argParser(parseChoice('coding', ['auto', 'packed', 'arithmetic'] as const))
        .default('auto'),
    )
    .option('--n <n>', 'most images to encode (default: all)', parseInteger('n', 1, MAX_LATENT_IMAGES))
    .option('--compare', 'also report PNG bytes and JPEG bytes at the same PSNR per image', false)
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => encodeCommand(opts, makeOutput(Boolean(opts.json))));
}
