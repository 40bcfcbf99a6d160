/**
 * The pictures a run leaves in its folder: a grid of new samples, targets
 * beside their reconstructions, and the loss curve.
 */
import { join } from 'node:path';

import { Rng } from '../data/rng.js';
import { psnrPerImage } from '../eval/metrics.js';
import { writeLossCurveSvg } from '../image/lossCurve.js';
import { writePng } from '../image/codec.js';
import type { ImageData32 } from '../image/types.js';
import * as tf from '@tensorflow/tfjs-core';

import { conditionFromTarget } from '../model/condition.js';
import type { DdnModel, HostCondition } from '../model/model.js';
import type { UsagePrior } from '../sampling/usagePrior.js';

export const SAMPLES_FILE = 'samples.png';
export const RECONSTRUCTIONS_FILE = 'reconstructions.png';
export const LOSS_CURVE_FILE = 'loss.svg';

/** Splits host images [n, S, S, c] into one image record each. */
export function toImages(pixels: Float32Array, n: number, size: number, channels: 1 | 3): ImageData32[] {
  const length = size * size * channels;
  return Array.from({ length: n }, (_, i) => ({
    data: pixels.slice(i * length, (i + 1) * length),
    height: size,
    width: size,
    channels,
  }));
}

/**
 * The condition of a conditional model for real images [n, S, S, c] in
 * [0, 1]: their labels, or condition images made from them. Undefined for
 * an unconditional model.
 */
export function conditionOf(
  model: DdnModel,
  images: Float32Array,
  labels: Int32Array | undefined,
): HostCondition | undefined {
  const { condition: kind, imageSize: S, imageChannels: c } = model.config;
  if (kind === 'none') return undefined;
  if (kind === 'class') return { labels };
  const n = images.length / (S * S * c);
  const made = tf.tidy(() => {
    const target = tf.sub(tf.mul(tf.tensor4d(images, [n, S, S, c]), 2), 1) as tf.Tensor4D;
    return tf.div(tf.add(conditionFromTarget(kind, target), 1), 2);
  });
  const data = made.dataSync() as Float32Array;
  made.dispose();
  return { images: data };
}

/**
 * Writes an 8-column grid of `n` new images drawn with `seed`. A class model
 * gets one row per class; an image-conditioned model one row per condition
 * taken from `reference` images (condition first). With `prior`, levels
 * draw their nodes by measured usage instead of uniformly.
 */
export async function writeSampleGrid(
  model: DdnModel,
  path: string,
  n = 64,
  seed = 0,
  reference?: { images: Float32Array; count: number },
  prior?: UsagePrior,
): Promise<void> {
  const { imageSize, imageChannels, condition: kind, classCount } = model.config;
  if (kind === 'none') {
    const { images } = model.sample(n, new Rng(seed), 64, undefined, prior);
    await writePng(path, toImages(images, n, imageSize, imageChannels), { columns: 8 });
    return;
  }
  if (kind === 'class') {
    const labels = Int32Array.from({ length: classCount * 8 }, (_, i) => Math.floor(i / 8));
    const { images } = model.sample(labels.length, new Rng(seed), 64, { labels }, prior);
    await writePng(path, toImages(images, labels.length, imageSize, imageChannels), { columns: 8 });
    return;
  }
  // Image conditions: rows of [condition, 7 samples] for the first references.
  const length = imageSize * imageSize * imageChannels;
  const rows = Math.min(8, reference?.count ?? 0);
  if (reference === undefined || rows === 0) return;
  const made = conditionOf(model, reference.images.subarray(0, rows * length), undefined) as HostCondition;
  const mapLength = (made.images as Float32Array).length / rows;
  const repeated = new Float32Array(rows * 7 * mapLength);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < 7; j++) {
      repeated.set((made.images as Float32Array).subarray(r * mapLength, (r + 1) * mapLength), (r * 7 + j) * mapLength);
    }
  }
  const { images } = model.sample(rows * 7, new Rng(seed), 64, { images: repeated });
  const samples = toImages(images, rows * 7, imageSize, imageChannels);
  const maps = toImages(made.images as Float32Array, rows, imageSize, (mapLength / imageSize ** 2) as 1 | 3);
  const cells = maps.flatMap((map, r) => [map, ...samples.slice(r * 7, r * 7 + 7)]);
  await writePng(path, cells, { columns: 8 });
}

/**
 * Writes targets and reconstructions as column pairs (target left) and
 * returns the mean PSNR in dB. `targets` [n, S, S, c] in [0, 1].
 */
export async function writeReconstructionGrid(
  model: DdnModel,
  targets: Float32Array,
  n: number,
  path: string,
  labels?: Int32Array,
): Promise<{ psnr: number; latents: Int32Array[]; psnrs: number[] }> {
  const { imageSize, imageChannels } = model.config;
  const result = model.reconstruct(targets, 64, conditionOf(model, targets, labels?.subarray(0, n)));
  const a = toImages(targets, n, imageSize, imageChannels);
  const b = toImages(result.images, n, imageSize, imageChannels);
  const pairs = a.flatMap((image, i) => [image, b[i]]);
  await writePng(path, pairs, { columns: Math.min(16, 2 * Math.ceil(Math.sqrt(n))) });
  const psnrs = psnrPerImage(targets, result.images, n);
  return { psnr: psnrs.reduce((s, v) => s + v, 0) / n, latents: result.latents, psnrs };
}

export interface LogEntry {
  step: number;
  loss: number;
  levelLosses: number[];
}

/** Writes the mean loss and the first and last level's loss against the step, log scale. */
export async function writeLossCurve(entries: LogEntry[], dir: string): Promise<void> {
  if (entries.length === 0) return;
  const smooth = (values: { step: number; value: number }[]) => {
    // A running mean over a window of about 2% of the run steadies the line.
    const window = Math.max(1, Math.round(values.length / 50));
    return values.map((v, i) => {
      const from = Math.max(0, i - window + 1);
      const slice = values.slice(from, i + 1);
      return { step: v.step, value: slice.reduce((s, x) => s + x.value, 0) / slice.length };
    });
  };
  const levels = entries[0].levelLosses.length;
  const series = [
    { name: 'mean over levels', values: smooth(entries.map((e) => ({ step: e.step, value: e.loss }))) },
    { name: 'first level', values: smooth(entries.map((e) => ({ step: e.step, value: e.levelLosses[0] }))) },
    {
      name: `last level (${levels})`,
      values: smooth(entries.map((e) => ({ step: e.step, value: e.levelLosses[levels - 1] }))),
    },
  ];
  await writeLossCurveSvg(join(dir, LOSS_CURVE_FILE), series, {
    title: 'training loss (squared error, images in [−1, 1])',
    logY: true,
  });
}

/** Returns the paths of a run folder's pictures. */
export function artifactPaths(dir: string) {
  return {
    samples: join(dir, SAMPLES_FILE),
    reconstructions: join(dir, RECONSTRUCTIONS_FILE),
    lossCurve: join(dir, LOSS_CURVE_FILE),
  };
}
