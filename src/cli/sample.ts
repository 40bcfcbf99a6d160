/** `ddn sample`: a grid of new images from a trained model. */
import { Rng } from '../data/rng.js';
import { writePng } from '../image/codec.js';
import { loadModel } from '../io/modelDir.js';
import type { BackendName } from '../backend/select.js';
import { toImages } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import type { Output } from './output.js';

export interface SampleCommandOptions {
  model: string;
  n: number;
  seed: number;
  out: string;
  columns?: number;
  backend?: BackendName;
}

export async function sampleCommand(o: SampleCommandOptions, out: Output): Promise<void> {
  await startBackend(o.backend, out);
  const { model } = await loadModel(o.model);
  const started = Date.now();
  const { images, latents } = model.sample(o.n, new Rng(o.seed));
  const seconds = (Date.now() - started) / 1000;
  const { imageSize, imageChannels } = model.config;
  await writePng(o.out, toImages(images, o.n, imageSize, imageChannels), {
    columns: o.columns ?? Math.ceil(Math.sqrt(o.n)),
  });
  out.result(`wrote ${o.n} samples to ${o.out} (${(o.n / seconds).toFixed(1)} images/s)`);
  out.json({ out: o.out, n: o.n, seed: o.seed, seconds, latents: latents.map((l) => Array.from(l)) });
  model.dispose();
}
