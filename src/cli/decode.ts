/** `ddn decode`: a latent file back to images, optionally from its first levels only. */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { DdnError } from '../errors.js';
import { writePng } from '../image/codec.js';
import { loadModel } from '../io/modelDir.js';
import { readLatentFile } from '../latent/format.js';
import { checkLatentFileMatchesModel } from '../latent/modelLatents.js';
import { toImages } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import { makeOutput, type Output } from './output.js';
import { parseInteger } from './parse.js';

export interface DecodeCommandOptions {
  model: string;
  input: string;
  /** A .png file (one image, or a grid of several) or a folder (one PNG per image). */
  out: string;
  /** Levels to decode; all when undefined. */
  levels?: number;
  backend?: BackendName;
}

export async function decodeCommand(o: DecodeCommandOptions, out: Output): Promise<void> {
  const bytes = await readFile(o.input).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new DdnError(`latent file not found: ${o.input}`);
    throw error;
  });
  const latentFile = readLatentFile(bytes, o.input);
  await startBackend(o.backend, out);
  const { model, file } = await loadModel(o.model);
  try {
    checkLatentFileMatchesModel(latentFile, file.weights.sha256, model.ks, o.input, o.model);
    const levels = o.levels ?? model.levels;
    if (levels > model.levels) {
      throw new DdnError(`invalid --levels ${levels}: the model has ${model.levels} levels`);
    }

    const n = latentFile.latents.length;
    const { imageSize, imageChannels } = model.config;
    const { images } = model.decode(latentFile.latents, levels);
    const decoded = toImages(images, n, imageSize, imageChannels);
    const written = await writeImages(decoded, o.out);

    out.result(`decoded ${n} image${n === 1 ? '' : 's'} from ${levels} of ${model.levels} levels; wrote ${written}`);
    out.json({ images: n, levels, modelLevels: model.levels, out: written });
  } finally {
    model.dispose();
  }
}

/** Writes one PNG (a grid when several images) or one PNG per image into a folder. */
async function writeImages(images: ReturnType<typeof toImages>, target: string): Promise<string> {
  const isFolder = !/\.png$/i.test(target) || (statSync(target, { throwIfNoEntry: false })?.isDirectory() ?? false);
  if (!isFolder) {
    await writePng(target, images.length === 1 ? images[0]! : images);
    return target;
  }
  const digits = Math.max(4, String(images.length - 1).length);
  for (let i = 0; i < images.length; i++) {
    await writePng(join(target, `image-${String(i).padStart(digits, '0')}.png`), images[i]!);
  }
  return `${images.length} PNG files in ${target}`;
}

/** Adds `ddn decode` to the program. */
export function registerDecodeCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('decode')
    .description('turn a latent file back into images; --levels N decodes a coarser image from the first N levels')
    .requiredOption('--model <dir>', 'run folder of the model that encoded the file')
    .requiredOption('--input <file.ddnl>', 'latent file written by ddn encode')
    .requiredOption('--out <png|dir>', 'a .png file (a grid when the file holds several images) or a folder for one PNG per image')
    .option('--levels <n>', 'decode only the first n levels (default: all)', parseInteger('levels', 1, 65535))
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => decodeCommand(opts, makeOutput(Boolean(opts.json))));
}
