/** `ddn reconstruct`: targets beside their reconstructions, with PSNR and latents. */
import { existsSync, statSync } from 'node:fs';

import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { readImage } from '../image/codec.js';
import { fitToModel } from './fitImage.js';
import { loadModel } from '../io/modelDir.js';
import { bitsPerImage } from '../model/config.js';
import type { BackendName } from '../backend/select.js';
import { writeReconstructionGrid } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import type { Output } from './output.js';

export interface ReconstructCommandOptions {
  model: string;
  input: string;
  n: number;
  out: string;
  backend?: BackendName;
}

export async function reconstructCommand(o: ReconstructCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const { model } = await loadModel(o.model);
  const { imageSize, imageChannels } = model.config;
  const targets = await loadTargets(o.input, imageSize, imageChannels, o.n);
  const length = imageSize * imageSize * imageChannels;
  const n = Math.min(o.n, targets.count);

  if (model.config.condition === 'class' && targets.labels === undefined) {
    throw new DdnError(`${o.input}: a class-conditional model needs labelled images (mnist, fashion-mnist or class folders)`);
  }
  const rec = await writeReconstructionGrid(
    model,
    targets.images.subarray(0, n * length),
    n,
    o.out,
    targets.labels,
  );
  const bits = bitsPerImage(model.config);
  out.result(`reconstructed ${n} image${n === 1 ? '' : 's'} from ${targets.name}: mean PSNR ${rec.psnr.toFixed(2)} dB`);
  out.result(`each latent is ${model.levels} integers, ${bits.toFixed(1)} bits per image`);
  rec.latents.slice(0, Math.min(n, 16)).forEach((latent, i) => {
    out.result(`  image ${i}: [${Array.from(latent).join(', ')}]  PSNR ${rec.psnrs[i].toFixed(2)} dB`);
  });
  if (n > 16) out.result(`  … ${n - 16} more latents with --json`);
  out.result(`wrote ${o.out} (targets left, reconstructions right)`);
  out.json({
    psnr: rec.psnr,
    bitsPerImage: bits,
    latents: rec.latents.map((l) => Array.from(l)),
    psnrPerImage: rec.psnrs,
    n,
    backend: backend.name,
  });
  model.dispose();
}

/** Loads a single image file, or any dataset spec, at the model's size and channels. */
async function loadTargets(input: string, size: number, channels: 1 | 3, n: number): Promise<Dataset> {
  const isFile = existsSync(input) && statSync(input).isFile();
  const isImageFile = isFile && /\.(png|jpe?g)$/i.test(input);
  let dataset: Dataset;
  if (isImageFile) {
    const image = fitToModel(await readImage(input), size, channels, input);
    dataset = { name: input, images: image.data, count: 1, height: size, width: size, channels };
  } else {
    const split = input === 'mnist' || input === 'fashion-mnist' ? 'test' : 'all';
    dataset = await loadDataset(input, { split, imageSize: size, limit: n });
  }
  if (dataset.height !== size || dataset.channels !== channels) {
    throw new DdnError(
      `${input}: images are ${dataset.height}×${dataset.width}×${dataset.channels}, the model takes ${size}×${size}×${channels}`,
    );
  }
  return dataset;
}
