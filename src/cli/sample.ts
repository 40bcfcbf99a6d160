/** `ddn sample`: a grid of new images from a trained model. */
import type { BackendName } from '../backend/select.js';
import { Rng } from '../data/rng.js';
import { DdnError } from '../errors.js';
import { readImage, writePng } from '../image/codec.js';
import type { ImageData32 } from '../image/types.js';
import { loadModel } from '../io/modelDir.js';
import { conditionChannels } from '../model/condition.js';
import type { DdnModel, HostCondition } from '../model/model.js';
import { conditionOf, toImages } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import { fitToModel } from './fitImage.js';
import type { Output } from './output.js';
import { choosePrior, type PriorMode } from './prior.js';

export interface SampleCommandOptions {
  model: string;
  n: number;
  seed: number;
  out: string;
  columns?: number;
  class?: number;
  conditionImage?: string;
  conditionFrom?: string;
  /** Node choice of the samples ('auto' when undefined). */
  prior?: PriorMode;
  /** Temperature of the usage prior (1 when undefined). */
  priorTemperature?: number;
  backend?: BackendName;
}

export async function sampleCommand(o: SampleCommandOptions, out: Output): Promise<void> {
  await startBackend(o.backend, out);
  const { model, file } = await loadModel(o.model);
  try {
    const { imageSize, imageChannels } = model.config;
    const plan = await planCondition(model, o);
    const prior = await choosePrior(model, file, o.model, o.prior ?? 'auto', o.priorTemperature ?? 1, out);
    const started = Date.now();
    const { images, latents } = model.sample(plan.n, new Rng(o.seed), 64, plan.condition, prior);
    const seconds = (Date.now() - started) / 1000;
    const grid = [...plan.lead, ...toImages(images, plan.n, imageSize, imageChannels)];
    await writePng(o.out, grid, { columns: plan.columns });
    out.result(`wrote ${plan.n} samples to ${o.out}${plan.note} (${(plan.n / seconds).toFixed(1)} images/s)`);
    out.json({
      out: o.out,
      n: plan.n,
      seed: o.seed,
      seconds,
      prior: prior === undefined ? 'uniform' : 'usage',
      priorTemperature: prior?.temperature,
      labels: plan.condition?.labels === undefined ? undefined : Array.from(plan.condition.labels),
      latents: latents.map((l) => Array.from(l)),
    });
  } finally {
    model.dispose();
  }
}

interface SamplePlan {
  n: number;
  columns: number;
  condition?: HostCondition;
  /** Pictures shown before the samples (the condition image). */
  lead: ImageData32[];
  note: string;
}

/** Works out what to condition on, from the model's kind and the options. */
async function planCondition(model: DdnModel, o: SampleCommandOptions): Promise<SamplePlan> {
  const { condition: kind, classCount, imageSize, imageChannels } = model.config;
  const square = Math.ceil(Math.sqrt(o.n));
  if (kind === 'none') {
    if (o.class !== undefined || o.conditionImage !== undefined || o.conditionFrom !== undefined) {
      throw new DdnError(`${o.model} is an unconditional model: --class and --condition-image do not apply`);
    }
    return { n: o.n, columns: o.columns ?? square, lead: [], note: '' };
  }

  if (kind === 'class') {
    if (o.class !== undefined) {
      if (o.class >= classCount) {
        throw new DdnError(`invalid --class ${o.class}: this model has classes 0 to ${classCount - 1}`);
      }
      const labels = new Int32Array(o.n).fill(o.class);
      return { n: o.n, columns: o.columns ?? square, condition: { labels }, lead: [], note: ` of class ${o.class}` };
    }
    // One row per class, --columns (default 8) images each.
    const columns = o.columns ?? 8;
    const labels = Int32Array.from({ length: classCount * columns }, (_, i) => Math.floor(i / columns));
    return { n: labels.length, columns, condition: { labels }, lead: [], note: `, one row per class` };
  }

  // Image conditions: the given map, or one made from a given image.
  const cc = conditionChannels(kind, imageChannels);
  let map: ImageData32;
  if (o.conditionImage !== undefined) {
    const raw = await readImage(o.conditionImage);
    map = fitToModel(raw, kind === 'lowres' && raw.height < imageSize ? raw.height : imageSize, cc as 1 | 3, o.conditionImage);
    if (map.height < imageSize) map = upsampleNearest(map, imageSize);
  } else if (o.conditionFrom !== undefined) {
    const image = fitToModel(await readImage(o.conditionFrom), imageSize, imageChannels, o.conditionFrom);
    const made = conditionOf(model, image.data, undefined) as HostCondition;
    map = { data: made.images as Float32Array, height: imageSize, width: imageSize, channels: cc as 1 | 3 };
  } else {
    throw new DdnError(`this model is conditioned on '${kind}' images: pass --condition-image PNG or --condition-from PNG`);
  }
  const images = new Float32Array(o.n * map.data.length);
  for (let i = 0; i < o.n; i++) images.set(map.data, i * map.data.length);
  const columns = o.columns ?? square;
  return { n: o.n, columns, condition: { images }, lead: [map], note: ` (the condition first)` };
}

/** Nearest-neighbour enlargement by an integer factor. */
function upsampleNearest(image: ImageData32, size: number): ImageData32 {
  const factor = size / image.height;
  const c = image.channels;
  const data = new Float32Array(size * size * c);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let ch = 0; ch < c; ch++) {
        data[(y * size + x) * c + ch] = image.data[(Math.floor(y / factor) * image.width + Math.floor(x / factor)) * c + ch];
      }
    }
  }
  return { data, height: size, width: size, channels: c };
}
