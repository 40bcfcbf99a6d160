/**
 * Measurements of zero-shot conditional generation on held-out images: one
 * guided sample per image, each with its own condition, compared with the
 * original and with a plain baseline.
 */
import type { Classifier } from '../classifier/cnn.js';
import { Rng } from '../data/rng.js';
import { resizeBilinear } from '../image/resize.js';
import type { ModelConfig } from '../model/config.js';
import type { DdnModel } from '../model/model.js';
import {
  downsampleImages,
  hiddenRegion,
  hitRate,
  meanPsnr,
  quantizeImages,
  regionPsnr,
  toGray,
} from './degrade.js';
import { type GuideCondition, type GuideTerm, type SuperResolutionFactor, guidedSample } from './guide.js';

/** Clean images [n, S, S, c] in [0, 1]. */
export interface EvaluationImages {
  images: Float32Array;
  count: number;
}

export interface EvaluationOptions {
  topK: number;
  seed: number;
  batchSize?: number;
}

/** Guided samples with the figures that describe them. */
export interface Evaluated<F> {
  figures: F;
  /** The guided samples [n, S, S, c]. */
  samples: Float32Array;
}

export interface InpaintingFigures {
  images: number;
  /** PSNR in dB over the hidden pixels of the guided samples against the originals. */
  psnrHidden: number;
  /** The same for plain reconstruction of each image with its hole filled by the mean visible value. */
  baselinePsnrHidden: number;
  /** PSNR in dB over the known pixels against the originals. */
  psnrKnown: number;
  secondsPerSample: number;
}

/**
 * Inpaints each image under `mask` [S, S] (1 known) and compares the hidden
 * region with the original. The baseline reconstructs the image with the
 * hidden pixels set to the mean of its visible pixels, the plain L2 search
 * without a mask.
 */
export function evaluateInpainting(
  model: DdnModel,
  clean: EvaluationImages,
  mask: Float32Array,
  options: EvaluationOptions,
): Evaluated<InpaintingFigures> & { baseline: Float32Array } {
  const { images, count: n } = clean;
  const channels = model.config.imageChannels;
  const started = Date.now();
  const guided = guidedSample(model, [{ condition: { task: 'inpaint', images, mask }, weight: 1 }], {
    n,
    topK: options.topK,
    seed: options.seed,
    batchSize: options.batchSize,
  });
  const seconds = (Date.now() - started) / 1000;

  const filled = fillHidden(images, mask, channels);
  const baseline = reconstruct(model, filled, options.batchSize);
  const hidden = hiddenRegion(mask);
  return {
    samples: guided.images,
    baseline,
    figures: {
      images: n,
      psnrHidden: regionPsnr(guided.images, images, n, hidden, channels),
      baselinePsnrHidden: regionPsnr(baseline, images, n, hidden, channels),
      psnrKnown: regionPsnr(guided.images, images, n, mask, channels),
      secondsPerSample: seconds / n,
    },
  };
}

export interface SuperResolutionFigures {
  images: number;
  factor: number;
  /** PSNR in dB of the guided samples against the originals. */
  psnr: number;
  /** PSNR in dB of the guided samples, averaged down, against the low-resolution inputs. */
  consistencyPsnr: number;
  /** PSNR in dB of the low-resolution inputs enlarged bilinearly, against the originals. */
  bilinearPsnr: number;
  /** PSNR in dB of plain reconstruction from the full-resolution originals, an upper bound. */
  reconstructionPsnr: number;
  secondsPerSample: number;
}

/** Super-resolves each image from its area-averaged copy 1/factor the side. */
export function evaluateSuperResolution(
  model: DdnModel,
  clean: EvaluationImages,
  factor: SuperResolutionFactor,
  options: EvaluationOptions,
): Evaluated<SuperResolutionFigures> & { lowRes: Float32Array } {
  const { images, count: n } = clean;
  const { imageSize: size, imageChannels: channels } = model.config;
  const lowRes = downsampleImages(images, n, size, channels, factor);
  const started = Date.now();
  const guided = guidedSample(model, [{ condition: { task: 'superres', images: lowRes, factor }, weight: 1 }], {
    n,
    topK: options.topK,
    seed: options.seed,
    batchSize: options.batchSize,
  });
  const seconds = (Date.now() - started) / 1000;

  const low = size / factor;
  const lowLength = low * low * channels;
  const bilinear = new Float32Array(images.length);
  for (let i = 0; i < n; i++) {
    const image = { data: lowRes.slice(i * lowLength, (i + 1) * lowLength), height: low, width: low, channels };
    bilinear.set(resizeBilinear(image, size).data, i * size * size * channels);
  }
  return {
    samples: guided.images,
    lowRes,
    figures: {
      images: n,
      factor,
      psnr: meanPsnr(guided.images, images, n),
      consistencyPsnr: meanPsnr(downsampleImages(guided.images, n, size, channels, factor), lowRes, n),
      bilinearPsnr: meanPsnr(bilinear, images, n),
      reconstructionPsnr: meanPsnr(reconstruct(model, images, options.batchSize), images, n),
      secondsPerSample: seconds / n,
    },
  };
}

export interface ClassGuidanceFigures {
  samplesPerClass: number;
  /** Share of guided samples that the judge puts in the requested class. */
  classHitRate: number;
  /** The same per class, [classes]. */
  perClass: number[];
  /** The judge's hit rate for the same requested classes on unguided samples (uniform random picks). */
  unguidedHitRate: number;
  secondsPerSample: number;
}

/**
 * Generates `perClass` samples of every class under the guiding classifier
 * and lets a separately trained judge classify them. The unguided rate is
 * the judge's hit rate for the same requested classes on random samples.
 */
export function evaluateClassGuidance(
  model: DdnModel,
  guide: Classifier,
  judge: Classifier,
  perClass: number,
  options: EvaluationOptions,
): Evaluated<ClassGuidanceFigures> & { labels: Int32Array } {
  const classes = guide.config.classes;
  const n = classes * perClass;
  const labels = Int32Array.from({ length: n }, (_, i) => Math.floor(i / perClass));
  const terms: GuideTerm[] = [{ condition: { task: 'class', label: labels, classifier: guide }, weight: 1 }];
  const started = Date.now();
  const guided = guidedSample(model, terms, { n, topK: options.topK, seed: options.seed, batchSize: options.batchSize });
  const seconds = (Date.now() - started) / 1000;

  const predicted = judge.predict(guided.images);
  const perClassRates = Array.from({ length: classes }, (_, c) =>
    hitRate(predicted.subarray(c * perClass, (c + 1) * perClass), c),
  );
  const unguided = model.sample(n, new Rng(options.seed));
  return {
    samples: guided.images,
    labels,
    figures: {
      samplesPerClass: perClass,
      classHitRate: hitRate(predicted, labels),
      perClass: perClassRates,
      unguidedHitRate: hitRate(judge.predict(unguided.images), labels),
      secondsPerSample: seconds / n,
    },
  };
}

/** Plain L2 reconstruction of host images [n, S, S, c] in [0, 1]. */
function reconstruct(model: DdnModel, images: Float32Array, batchSize = 16): Float32Array {
  return model.reconstruct(images, batchSize).images;
}

/** Copies images [n, S, S, c] with every hidden pixel set to the mean of that image's visible pixels. */
export function fillHidden(images: Float32Array, mask: Float32Array, channels: number): Float32Array {
  const pixels = mask.length;
  const n = images.length / (pixels * channels);
  const out = images.slice();
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      let count = 0;
      for (let p = 0; p < pixels; p++) {
        if (mask[p] === 0) continue;
        sum += images[(i * pixels + p) * channels + c];
        count++;
      }
      const mean = count === 0 ? 0 : sum / count;
      for (let p = 0; p < pixels; p++) {
        if (mask[p] === 0) out[(i * pixels + p) * channels + c] = mean;
      }
    }
  }
  return out;
}

/** Figures of one condition for samples [n, S, S, c]. */
export interface GuideFigures {
  /** Mean PSNR in dB of the samples against the clean input, when one is given. */
  psnr?: number;
  /** Inpainting: PSNR over the hidden pixels only, against the clean input. */
  psnrHidden?: number;
  /** PSNR of the degraded samples against the condition (superres, colorize, lowbit, inpaint's known pixels). */
  consistencyPsnr?: number;
  /** Class guidance: share of samples the judge classifier puts in the requested class. */
  classHitRate?: number;
}

/**
 * Measures how well samples [n, S, S, c] meet one condition shared by all
 * of them. `clean` [S, S, c] is the original image when known; `judge`
 * scores class guidance.
 */
export function measureGuidance(
  condition: GuideCondition,
  samples: Float32Array,
  n: number,
  config: ModelConfig,
  clean: Float32Array | null,
  mask: Float32Array | null,
  judge: Classifier | null,
): GuideFigures {
  const { imageSize: size, imageChannels: channels } = config;
  const figures: GuideFigures = {};
  const repeat = (image: Float32Array) => {
    const all = new Float32Array(image.length * n);
    for (let i = 0; i < n; i++) all.set(image, i * image.length);
    return all;
  };
  if (clean !== null && condition.task !== 'class') {
    figures.psnr = meanPsnr(samples, repeat(clean), n);
  }
  switch (condition.task) {
    case 'superres': {
      const low = downsampleImages(samples, n, size, channels, condition.factor);
      figures.consistencyPsnr = meanPsnr(low, repeat(condition.images), n);
      break;
    }
    case 'colorize':
      figures.consistencyPsnr = meanPsnr(toGray(samples), repeat(condition.images), n);
      break;
    case 'lowbit':
      figures.consistencyPsnr = meanPsnr(quantizeImages(samples, condition.bits), repeat(condition.images), n);
      break;
    case 'inpaint': {
      const known = mask as Float32Array;
      figures.consistencyPsnr = regionPsnr(samples, repeat(condition.images), n, known, channels);
      if (clean !== null) figures.psnrHidden = regionPsnr(samples, repeat(clean), n, hiddenRegion(known), channels);
      break;
    }
    case 'class':
      if (judge !== null) {
        figures.classHitRate = hitRate(judge.predict(samples), condition.label as number);
      }
      break;
    default:
      break;
  }
  return figures;
}
