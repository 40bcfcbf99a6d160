/**
 * Evaluation of a trained model in one call. It measures sample quality
 * against held-out images (Fréchet distance and precision/recall on a
 * feature extractor) and the reconstruction of held-out images (MSE, PSNR,
 * SSIM) after every level, a rate–distortion curve. It also reports node
 * usage per level and the nearest training images of generated samples.
 */
import { Rng } from '../data/rng.js';
import type { Dataset } from '../data/types.js';
import { levelKs } from '../model/config.js';
import type { DdnModel, HostCondition } from '../model/model.js';
import type { UsagePrior } from '../sampling/usagePrior.js';
import { conditionOf } from '../train/artifacts.js';
import type { FeatureExtractor } from './features.js';
import { fitGaussian, frechetDistance } from './frechet.js';
import { meanSquaredError, psnr } from './metrics.js';
import { precisionRecall } from './precisionRecall.js';
import { ssim } from './ssim.js';
import { nodeEntropy } from './usage.js';

export interface EvaluationOptions {
  /** Generated images for the sample metrics. */
  samples: number;
  /** Held-out images reconstructed. */
  reconstructions: number;
  /** Points per set for precision/recall, which costs n² distances. */
  precisionRecallPoints: number;
  /** Generated samples whose nearest training images are shown. */
  nearestSamples: number;
  seed: number;
  /** Node usage prior the samples draw from, or uniform picks when undefined. */
  prior?: UsagePrior;
}

export interface RatePoint {
  levels: number;
  bits: number;
  psnr: number;
  ssim: number;
}

export interface EvaluationReport {
  frechet: number | null;
  precision: number | null;
  recall: number | null;
  featureName: string | null;
  /** Class-conditional models: the share of samples the classifier puts in the class they were made for. */
  classAccuracy: number | null;
  mse: number;
  psnr: number;
  ssim: number;
  bitsPerImage: number;
  rateDistortion: RatePoint[];
  /** Entropy in bits of the node distribution at each level, [L]. */
  nodeEntropy: number[];
  /** log2 K of each level, [L]: the entropy of even use. */
  maxEntropy: number[];
  nearest: { distances: number[][]; trainIndices: number[][] };
  samples: number;
  reconstructions: number;
  seconds: number;
}

/** The pictures of an evaluation: the first samples and their nearest training images, [n, S, S, c] each. */
export interface EvaluationImages {
  generated: Float32Array;
  nearestTrainImages: Float32Array[];
}

/** Picks the condition of the samples: a uniformly random class each for a class model, held-out images' conditions for an image model. */
function sampleCondition(model: DdnModel, heldOut: Dataset, n: number, rng: Rng): HostCondition | undefined {
  const { condition, classCount } = model.config;
  if (condition === 'none') return undefined;
  if (condition === 'class') return { labels: Int32Array.from({ length: n }, () => rng.int(classCount)) };
  const length = heldOut.height * heldOut.width * heldOut.channels;
  const picks = new Float32Array(n * length);
  for (let i = 0; i < n; i++) picks.set(heldOut.images.subarray((i % heldOut.count) * length, ((i % heldOut.count) + 1) * length), i * length);
  return conditionOf(model, picks, undefined);
}

export function evaluateModel(
  model: DdnModel,
  heldOut: Dataset,
  train: Dataset,
  features: FeatureExtractor | null,
  options: EvaluationOptions,
  classify?: (images: Float32Array) => Int32Array,
): { report: EvaluationReport; images: EvaluationImages } {
  const started = Date.now();
  const { imageSize: S, imageChannels: c } = model.config;
  const length = S * S * c;
  const rng = new Rng(options.seed);

  // Sample quality on features.
  const n = options.samples;
  const sampled = sampleCondition(model, heldOut, n, rng);
  const generated = model.sample(n, rng, 64, sampled, options.prior).images;
  let classAccuracy: number | null = null;
  if (classify !== undefined && sampled?.labels !== undefined) {
    const predicted = classify(generated);
    classAccuracy = predicted.reduce((hits, label, i) => hits + (label === sampled.labels![i] ? 1 : 0), 0) / n;
  }
  let frechet: number | null = null;
  let precision: number | null = null;
  let recall: number | null = null;
  if (features !== null) {
    const realCount = Math.min(heldOut.count, n);
    const realFeatures = features.extract(heldOut.images.subarray(0, realCount * length));
    const fakeFeatures = features.extract(generated);
    const d = features.dimension;
    frechet = frechetDistance(fitGaussian(realFeatures, realCount, d), fitGaussian(fakeFeatures, n, d));
    const points = Math.min(options.precisionRecallPoints, realCount, n);
    ({ precision, recall } = precisionRecall(realFeatures.subarray(0, points * d), fakeFeatures.subarray(0, points * d), d));
  }

  // Reconstruction at every number of levels.
  const m = Math.min(options.reconstructions, heldOut.count);
  const targets = heldOut.images.subarray(0, m * length);
  const condition = conditionOf(model, targets, heldOut.labels?.subarray(0, m));
  const ks = levelKs(model.config);
  const rateDistortion: RatePoint[] = [];
  let finalLatents: Int32Array[] = [];
  let finalImages: Float32Array = new Float32Array(0);
  let bits = 0;
  for (let levels = 1; levels <= model.levels; levels++) {
    bits += Math.log2(ks[levels - 1]);
    const result = model.reconstruct(targets, 64, condition, levels);
    const scores = imageScores(targets, result.images, m, S, c);
    rateDistortion.push({ levels, bits, psnr: scores.psnr, ssim: scores.ssim });
    finalLatents = result.latents;
    finalImages = result.images;
  }
  const finalScores = imageScores(targets, finalImages, m, S, c);

  // The nearest training images (pixel L2) of the first samples.
  const nearest = nearestTraining(generated, options.nearestSamples, train, length, 3);

  return {
    report: {
      frechet,
      precision,
      recall,
      featureName: features?.name ?? null,
      classAccuracy,
      mse: finalScores.mse,
      psnr: finalScores.psnr,
      ssim: finalScores.ssim,
      bitsPerImage: bits,
      rateDistortion,
      nodeEntropy: nodeEntropy(finalLatents, ks),
      maxEntropy: ks.map((k) => Math.log2(k)),
      nearest: { distances: nearest.distances, trainIndices: nearest.indices },
      samples: n,
      reconstructions: m,
      seconds: (Date.now() - started) / 1000,
    },
    images: {
      generated: generated.subarray(0, options.nearestSamples * length),
      nearestTrainImages: nearest.indices.map((row) => {
        const out = new Float32Array(row.length * length);
        row.forEach((index, j) => out.set(train.images.subarray(index * length, (index + 1) * length), j * length));
        return out;
      }),
    },
  };
}

/** Mean MSE, PSNR and SSIM over images [n, S, S, c]. */
function imageScores(a: Float32Array, b: Float32Array, n: number, size: number, c: number) {
  const length = size * size * c;
  let mse = 0;
  let p = 0;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const x = a.subarray(i * length, (i + 1) * length);
    const y = b.subarray(i * length, (i + 1) * length);
    mse += meanSquaredError(x, y);
    p += psnr(x, y);
    s += ssim(x, y, size, size, c);
  }
  return { mse: mse / n, psnr: p / n, ssim: s / n };
}

/** Indices and RMS pixel distances of the `k` nearest training images of each of the first `count` images. */
function nearestTraining(images: Float32Array, count: number, train: Dataset, length: number, k: number) {
  const distances: number[][] = [];
  const indices: number[][] = [];
  for (let i = 0; i < count; i++) {
    const query = images.subarray(i * length, (i + 1) * length);
    const best: { index: number; distance: number }[] = [];
    for (let t = 0; t < train.count; t++) {
      let sum = 0;
      const offset = t * length;
      for (let p = 0; p < length; p++) {
        const d = query[p] - train.images[offset + p];
        sum += d * d;
      }
      if (best.length < k || sum < best[best.length - 1].distance) {
        best.push({ index: t, distance: sum });
        best.sort((x, y) => x.distance - y.distance);
        if (best.length > k) best.pop();
      }
    }
    indices.push(best.map((b) => b.index));
    distances.push(best.map((b) => Math.sqrt(b.distance / length)));
  }
  return { distances, indices };
}
