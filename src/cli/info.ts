/** `ddn info`: what a model folder holds. */
import type { BackendName } from '../backend/select.js';
import { loadDataset } from '../data/load.js';
import { Rng } from '../data/rng.js';
import { loadModel } from '../io/modelDir.js';
import { bitsPerImage, levelSizes } from '../model/config.js';
import type { DdnModel } from '../model/model.js';
import { conditionOf } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import type { Output } from './output.js';

export interface InfoCommandOptions {
  model: string;
  /** Images reconstructed to measure node usage; 0 skips it. */
  usageImages: number;
  data?: string;
  backend?: BackendName;
}

/** Share of the most and least used node of each level, over reconstructions. */
export interface NodeUsage {
  /** Level number, counted from 1 as in every report. */
  level: number;
  k: number;
  min: number;
  max: number;
  /** Nodes never picked. */
  unused: number;
}

export async function infoCommand(o: InfoCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const { model, file } = await loadModel(o.model);
  const config = model.config;
  const ks = model.ks;
  const sizes = levelSizes(config);
  const bits = bitsPerImage(config);
  const params = model.params.count();

  out.result(`model: ${o.model}`);
  out.result(`paradigm: ${config.paradigm}, image ${config.imageSize}×${config.imageSize}×${config.imageChannels}`);
  out.result(`levels L = ${model.levels}, K = ${[...new Set(ks)].join('/')}, ${bits.toFixed(1)} bits per image`);
  out.result(`parameters: ${params.toLocaleString('en-US')}`);
  out.result(
    `options: learning residual ${config.learningResidual ? 'on' : 'off'}, leak choice ${config.leakChoice ? 'on' : 'off'}, ` +
      `chain dropout ${config.chainDropout}, split-and-prune ${config.splitPrune}`,
  );
  out.result(
    `condition: ${config.condition === 'class' ? `class (${config.classCount} classes)` : config.condition}`,
  );
  if (file.training !== undefined) out.result(`training: ${describeTraining(file.training)}`);

  // Node usage: which nodes reconstruction of real images (or, without
  // data, random generation) actually visits.
  let usage: NodeUsage[] = [];
  if (o.usageImages > 0) {
    const source = o.data ?? (file.training?.data as string | undefined);
    let latents: Int32Array[];
    let what: string;
    if (source !== undefined && (source === 'mnist' || source === 'fashion-mnist' || !source.includes(' '))) {
      try {
        const data = await loadDataset(source, {
          split: source === 'mnist' || source === 'fashion-mnist' ? 'test' : 'all',
          imageSize: config.imageSize,
          limit: o.usageImages,
        });
        latents = model.reconstruct(data.images, 64, conditionOf(model, data.images, data.labels)).latents;
        what = `reconstructions of ${data.count} ${data.name} images`;
      } catch {
        ({ latents, what } = randomLatents(model, o.usageImages));
      }
    } else {
      ({ latents, what } = randomLatents(model, o.usageImages));
    }
    usage = nodeUsage(latents, ks);
    out.result(`node usage per level over ${what} (share of the least and most used node, 1/K is even):`);
    for (const u of usage) {
      out.result(
        `  level ${u.level} (${sizes[u.level - 1]}×${sizes[u.level - 1]}, K=${u.k}): min ${u.min.toFixed(4)}  max ${u.max.toFixed(4)}  ` +
          `1/K ${(1 / u.k).toFixed(4)}  unused ${u.unused}`,
      );
    }
  }
  out.json({
    k: Math.max(...ks),
    ks,
    levels: model.levels,
    params,
    bitsPerImage: bits,
    backend: backend.name,
    paradigm: config.paradigm,
    imageSize: config.imageSize,
    imageChannels: config.imageChannels,
    nodeUsage: usage,
    config,
  });
  model.dispose();
}

/** Latents of random samples; a class model gets random classes, an image-conditioned model none. */
function randomLatents(model: DdnModel, n: number): { latents: Int32Array[]; what: string } {
  const { condition, classCount } = model.config;
  if (condition !== 'none' && condition !== 'class') return { latents: [], what: 'no images' };
  const rng = new Rng(0);
  const labels = condition === 'class' ? Int32Array.from({ length: n }, () => rng.int(classCount)) : undefined;
  const latents = model.sample(n, rng, 64, labels === undefined ? undefined : { labels }).latents;
  return { latents, what: `${n} random samples` };
}

export function nodeUsage(latents: Int32Array[], ks: number[]): NodeUsage[] {
  return ks.map((k, level) => {
    const counts = new Array<number>(k).fill(0);
    for (const latent of latents) counts[latent[level]]++;
    const n = Math.max(1, latents.length);
    return {
      level: level + 1,
      k,
      min: Math.min(...counts) / n,
      max: Math.max(...counts) / n,
      unused: counts.filter((c) => c === 0).length,
    };
  });
}

/** Training metadata as one line: data, steps, batch, minutes and backend, then anything else. */
function describeTraining(training: Record<string, unknown>): string {
  const { data, steps, batch, seconds, backend, ...rest } = training;
  const parts = [
    data !== undefined ? `data ${String(data)}` : null,
    steps !== undefined ? `${String(steps)} steps` : null,
    batch !== undefined ? `batch ${String(batch)}` : null,
    typeof seconds === 'number' ? `${(seconds / 60).toFixed(1)} min` : null,
    backend !== undefined ? `on ${String(backend)}` : null,
    Object.keys(rest).length > 0 ? JSON.stringify(rest) : null,
  ];
  return parts.filter((part) => part !== null).join(', ');
}
