/**
 * `ddn guide`: zero-shot conditional generation from the command line. The
 * input is a clean image that the command degrades into the condition
 * (downsampled, gray, masked, noisy or few-bit), unless `--degraded` marks
 * it as the condition already. Writes the condition beside n results and
 * reports how well they meet it.
 */
import { existsSync, statSync } from 'node:fs';

import { type Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import type { Classifier } from '../classifier/cnn.js';
import { loadClassifier } from '../classifier/io.js';
import { loadDataset } from '../data/load.js';
import { Rng } from '../data/rng.js';
import { DdnError } from '../errors.js';
import { fitImage, planImageSize } from '../data/fit.js';
import { readImage, writePng } from '../image/codec.js';
import type { ImageData32 } from '../image/types.js';
import { loadModel } from '../io/modelDir.js';
import type { ModelConfig } from '../model/config.js';
import { addNoise, downsampleImages, hidePixels, quantizeImages, repeatPixels, toGray } from '../sampling/degrade.js';
import {
  type GuideFigures,
  evaluateClassGuidance,
  evaluateInpainting,
  evaluateSuperResolution,
  measureGuidance,
} from '../sampling/evaluate.js';
import {
  GUIDE_TASKS,
  type GuideCondition,
  type GuideTask,
  type GuideTerm,
  SUPERRES_FACTORS,
  type SuperResolutionFactor,
  guidedSample,
} from '../sampling/guide.js';
import { MASK_PRESETS, type MaskPreset, presetMask, readMaskPng } from '../sampling/masks.js';
import { toImages } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import { fitToModel } from './fitImage.js';
import { makeOutput, type Output } from './output.js';
import { parseChoice, parseInteger, parseNumber, parseOutputFile } from './parse.js';

export interface GuideCommandOptions {
  model: string;
  task: GuideTask;
  out: string;
  input?: string;
  index: number;
  degraded: boolean;
  mask?: string;
  maskPreset?: MaskPreset;
  factor: SuperResolutionFactor;
  bits: number;
  noise: number;
  class?: number;
  classifier?: string;
  judge?: string;
  weight: number;
  also: string[];
  topk: number;
  n: number;
  seed: number;
  columns?: number;
  eval?: number;
  backend?: BackendName;
}

/** Adds `guide` to the program. */
export function registerGuideCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('guide')
    .description('zero-shot conditional generation: n samples that meet a condition, written after the condition')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .addOption(new Option('--task <name>', 'the condition: ' + GUIDE_TASKS.join(', ')).argParser(parseChoice('task', GUIDE_TASKS)).makeOptionMandatory())
    .requiredOption('--out <file.png>', 'PNG file to write: the condition, then the samples', parseOutputFile('out', '.png'))
    .option('--input <spec>', 'clean image: a PNG/JPEG file, or mnist, fashion-mnist or a folder (image --index of the test split)')
    .option('--index <n>', 'which image of a dataset --input to take', parseInteger('index', 0), 0)
    .option('--degraded', 'the --input is the condition already (low-resolution, gray, noisy or few-bit)', false)
    .option('--mask <file.png>', 'inpainting mask at the model\'s side: white pixels known, black hidden')
    .addOption(new Option('--mask-preset <name>', 'inpainting mask hiding a region: ' + MASK_PRESETS.join(', ')).argParser(parseChoice('mask-preset', MASK_PRESETS)))
    .option('--factor <n>', 'super-resolution factor: 2, 4 or 8', parseFactor, 4)
    .option('--bits <n>', 'bits per channel of the lowbit condition', parseInteger('bits', 1, 8), 2)
    .option('--noise <sigma>', 'standard deviation of the Gaussian noise that denoise adds, pixel values in [0, 1]', parseNumber('noise', 0, 1), 0.2)
    .option('--class <n>', 'class to generate (class guidance)', parseInteger('class', 0))
    .option('--classifier <dir>', 'classifier folder that guides class generation')
    .option('--judge <dir>', 'classifier folder that scores the class hit rate (default: the guiding one)')
    .option('--weight <w>', 'weight of --task when conditions are combined', parseNumber('weight', 0, 1e6), 1)
    .option('--also <task:weight...>', 'more conditions with their weights, combined by rank, e.g. class:1', [])
    .option('--topk <n>', 'candidates kept per layer before the random draw (1: greedy)', parseInteger('topk', 1, 65536), 2)
    .option('--n <n>', 'number of samples', parseInteger('n', 1, 100000), 8)
    .option('--seed <n>', 'fixes the draws and the added noise', parseInteger('seed', 0, 2 ** 31 - 1), 0)
    .option('--columns <n>', 'grid columns (default: condition and samples in one row up to 9)', parseInteger('columns', 1, 1000))
    .option('--eval <n>', 'measure inpaint or superres on the first n test images of the dataset --input, or class guidance with n samples per class judged by --judge; the grid shows up to 8 cases', parseInteger('eval', 1, 100000))
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => guideCommand(opts, makeOutput(Boolean(opts.json))));
}

function parseFactor(text: string): SuperResolutionFactor {
  const value = Number(text);
  if (!(SUPERRES_FACTORS as readonly number[]).includes(value)) {
    throw new DdnError(`invalid --factor '${text}': expected 2, 4 or 8`);
  }
  return value as SuperResolutionFactor;
}

/** Parses `--also` items such as `class:1` or `inpaint:0.5`. */
export function parseAlso(items: string[]): { task: GuideTask; weight: number }[] {
  return items.map((item) => {
    const match = /^([a-z]+):([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)$/i.exec(item);
    const task = match?.[1] as GuideTask | undefined;
    const weight = Number(match?.[2]);
    if (match === null || !(GUIDE_TASKS as readonly string[]).includes(task as string) || !Number.isFinite(weight)) {
      throw new DdnError(`invalid --also '${item}': expected TASK:WEIGHT with TASK one of ${GUIDE_TASKS.join(', ')}, e.g. class:1`);
    }
    return { task: task as GuideTask, weight };
  });
}

/** The clean image, or the condition image when the input is degraded already. */
interface Input {
  /** [S, S, c] in [0, 1] (clean), or the condition's own shape (degraded). */
  image: Float32Array;
  name: string;
  clean: boolean;
}

export async function guideCommand(o: GuideCommandOptions, out: Output): Promise<void> {
  if (o.eval !== undefined) {
    await guideEvalCommand(o, o.eval, out);
    return;
  }
  const tasks = [{ task: o.task, weight: o.weight }, ...parseAlso(o.also)];
  const seen = new Set<GuideTask>();
  for (const { task } of tasks) {
    if (seen.has(task)) throw new DdnError(`the condition '${task}' is given twice; give each task once`);
    seen.add(task);
  }
  const needsInput = tasks.some((t) => t.task !== 'class');
  if (needsInput && o.input === undefined) {
    throw new DdnError(`--input is required for ${tasks.filter((t) => t.task !== 'class').map((t) => t.task).join(', ')}`);
  }
  if (o.degraded && tasks.filter((t) => t.task !== 'class').length > 1) {
    throw new DdnError('--degraded gives the condition of one task only; combine it with class guidance at most');
  }
  if (seen.has('inpaint') && (o.mask === undefined) === (o.maskPreset === undefined)) {
    throw new DdnError('inpaint needs exactly one of --mask FILE.png and --mask-preset NAME');
  }
  if (seen.has('class') && (o.class === undefined || o.classifier === undefined)) {
    throw new DdnError('class guidance needs --class N and --classifier DIR');
  }

  const backend = await startBackend(o.backend, out);
  const { model } = await loadModel(o.model);
  const classifiers: Classifier[] = [];
  try {
    const config = model.config;
    const { imageSize: size, imageChannels: channels } = config;
    if (seen.has('colorize') && channels !== 3) {
      throw new DdnError('colorize needs a model that makes RGB images, but this model makes gray images');
    }
    // The input serves the one image task when --degraded is given.
    const imageTask = tasks.find((t) => t.task !== 'class')?.task ?? o.task;
    const input = o.input === undefined ? null : await readInput(o.input, o.index, imageTask, o, config);
    let mask: Float32Array | null = null;
    if (o.mask !== undefined && seen.has('inpaint')) {
      mask = await readMaskPng(o.mask, size);
    } else if (o.maskPreset !== undefined && seen.has('inpaint')) {
      mask = presetMask(o.maskPreset, size);
    }
    let classifier: Classifier | null = null;
    if (seen.has('class')) {
      classifier = (await loadClassifier(o.classifier as string)).classifier;
      classifiers.push(classifier);
    }

    // Conditions and the pictures that show them.
    const rng = new Rng(o.seed);
    const terms: GuideTerm[] = [];
    const conditionTiles: ImageData32[] = [];
    for (const { task, weight } of tasks) {
      const prepared = makeCondition(task, input, { mask, classifier, rng, options: o, config });
      terms.push({ condition: prepared.condition, weight });
      if (prepared.display !== null) {
        conditionTiles.push({ data: prepared.display, height: size, width: size, channels: prepared.displayChannels });
      }
    }
    // Class guidance alone has no picture, so the grid starts with a gray tile.
    if (conditionTiles.length === 0) {
      conditionTiles.push({ data: new Float32Array(size * size).fill(0.5), height: size, width: size, channels: 1 });
    }

    // One pass through the L layers per sample.
    const started = Date.now();
    const { images, latents } = guidedSample(model, terms, { n: o.n, topK: o.topk, seed: o.seed });
    const seconds = (Date.now() - started) / 1000;

    const results = toImages(images, o.n, size, channels);
    await writePng(o.out, [...conditionTiles, ...results], { columns: o.columns ?? Math.min(9, conditionTiles.length + o.n) });

    // Figures of every condition.
    let judge = classifier;
    if (o.judge !== undefined) {
      judge = (await loadClassifier(o.judge)).classifier;
      classifiers.push(judge);
    }
    const clean = input?.clean === true ? input.image : null;
    const figures = terms.map(({ condition, weight }) => ({
      task: condition.task,
      weight,
      ...measureGuidance(condition, images, o.n, config, clean, mask, judge),
    }));
    const main = figures[0];
    out.result(`wrote ${o.out}: the condition${conditionTiles.length > 1 ? 's' : ''}, then ${o.n} samples (top-${o.topk}, seed ${o.seed})`);
    for (const f of figures) out.result(`  ${describeFigures(f)}`);
    out.result(`${((seconds / o.n) * 1000).toFixed(1)} ms per guided sample (${model.levels} layers, one pass, no gradients)`);
    out.json({
      out: o.out,
      ...main,
      terms: figures,
      n: o.n,
      topK: o.topk,
      seed: o.seed,
      input: input?.name,
      secondsPerSample: seconds / o.n,
      latents: latents.map((l) => Array.from(l)),
      backend: backend.name,
    });
  } finally {
    for (const c of new Set(classifiers)) c.dispose();
    model.dispose();
  }
}

/** Reads `--input`: a clean image at the model's side, or the condition of `task` with --degraded. */
async function readInput(
  spec: string,
  index: number,
  task: GuideTask,
  o: GuideCommandOptions,
  config: ModelConfig,
): Promise<Input> {
  const { imageSize: size, imageChannels: channels } = config;
  const isImageFile = existsSync(spec) && statSync(spec).isFile() && /\.(png|jpe?g)$/i.test(spec);
  let raw: ImageData32;
  let name = spec;
  if (isImageFile) {
    raw = await readImage(spec);
  } else {
    const split = spec === 'mnist' || spec === 'fashion-mnist' ? 'test' : 'all';
    const data = await loadDataset(spec, { split, imageSize: size, limit: index + 1 });
    if (index >= data.count) {
      throw new DdnError(`--index ${index} is out of range: ${spec} has ${data.count} images`);
    }
    const length = data.height * data.width * data.channels;
    raw = { data: data.images.slice(index * length, (index + 1) * length), height: data.height, width: data.width, channels: data.channels };
    name = `${spec}[${index}]`;
  }

  // Reconstruction and inpainting compare with the input as it is, so it counts as clean.
  if (!o.degraded || task === 'reconstruct' || task === 'inpaint') {
    return { image: fitToModel(raw, size, channels, name).data, name, clean: true };
  }
  // A degraded input keeps the condition's own shape.
  if (task === 'superres') {
    const low = size / o.factor;
    if (raw.height !== low || raw.width !== low) {
      throw new DdnError(`${name}: a degraded super-resolution input must be ${low}×${low} (${size} / ${o.factor}), got ${raw.width}×${raw.height}`);
    }
    return { image: fitToModel(raw, low, channels, name).data, name, clean: false };
  }
  if (task === 'colorize') {
    const fitted = fitImage(raw, planImageSize(raw.height, raw.width, size, name));
    return { image: fitted.channels === 1 ? fitted.data : toGray(fitted.data), name, clean: false };
  }
  return { image: fitToModel(raw, size, channels, name).data, name, clean: false };
}

interface ConditionContext {
  mask: Float32Array | null;
  classifier: Classifier | null;
  rng: Rng;
  options: GuideCommandOptions;
  config: ModelConfig;
}

/** Builds one task's condition from the input, and the image [S, S, c'] that shows it (null for class). */
function makeCondition(
  task: GuideTask,
  input: Input | null,
  context: ConditionContext,
): { condition: GuideCondition; display: Float32Array | null; displayChannels: 1 | 3 } {
  const { mask, classifier, rng, options: o, config } = context;
  const { imageSize: size, imageChannels: channels } = config;
  if (task === 'class') {
    return { condition: { task, label: o.class as number, classifier: classifier as Classifier }, display: null, displayChannels: channels };
  }
  const source = (input as Input).image;
  const clean = (input as Input).clean;
  switch (task) {
    case 'reconstruct':
      return { condition: { task, images: source }, display: source, displayChannels: channels };
    case 'superres': {
      const low = clean ? downsampleImages(source, 1, size, channels, o.factor) : source;
      return {
        condition: { task, images: low, factor: o.factor },
        display: repeatPixels(low, 1, size / o.factor, channels, o.factor),
        displayChannels: channels,
      };
    }
    case 'colorize': {
      const gray = clean ? toGray(source) : source;
      return { condition: { task, images: gray }, display: gray, displayChannels: 1 };
    }
    case 'inpaint':
      return {
        condition: { task, images: source, mask: mask as Float32Array },
        display: hidePixels(source, mask as Float32Array, channels),
        displayChannels: channels,
      };
    case 'denoise': {
      const noisy = clean ? addNoise(source, o.noise, rng) : source;
      return { condition: { task, images: noisy }, display: noisy, displayChannels: channels };
    }
    case 'lowbit': {
      const few = clean ? quantizeImages(source, o.bits) : source;
      return { condition: { task, images: few, bits: o.bits }, display: few, displayChannels: channels };
    }
  }
}

function describeFigures(f: GuideFigures & { task: string; weight: number }): string {
  const parts: string[] = [];
  if (f.psnr !== undefined) parts.push(`PSNR ${f.psnr.toFixed(2)} dB against the input`);
  if (f.psnrHidden !== undefined) parts.push(`${f.psnrHidden.toFixed(2)} dB on the hidden pixels`);
  if (f.consistencyPsnr !== undefined) parts.push(`consistency ${f.consistencyPsnr.toFixed(2)} dB`);
  if (f.classHitRate !== undefined) parts.push(`class hit rate ${(f.classHitRate * 100).toFixed(1)}%`);
  return `${f.task} (weight ${f.weight}): ${parts.length === 0 ? 'no figures without a clean input' : parts.join(', ')}`;
}

/** Cases shown per row of an evaluation grid. */
const EVAL_GRID_COLUMNS = 8;

/**
 * `ddn guide --eval N`: one guided sample per held-out image (inpaint,
 * superres) or N samples per class (class), with mean figures and a grid.
 */
async function guideEvalCommand(o: GuideCommandOptions, count: number, out: Output): Promise<void> {
  if (!['inpaint', 'superres', 'class'].includes(o.task)) {
    throw new DdnError(`--eval measures inpaint, superres and class, not ${o.task}`);
  }
  if (o.also.length > 0) {
    throw new DdnError('--eval measures one task; leave out --also');
  }
  if (o.task === 'inpaint' && (o.mask === undefined) === (o.maskPreset === undefined)) {
    throw new DdnError('inpaint needs exactly one of --mask FILE.png and --mask-preset NAME');
  }
  if (o.task === 'class' && (o.classifier === undefined || o.judge === undefined)) {
    throw new DdnError('--eval with class guidance needs --classifier DIR to guide and a separately trained --judge DIR to score');
  }
  if (o.task !== 'class' && o.input === undefined) {
    throw new DdnError(`--eval with ${o.task} needs --input mnist, fashion-mnist or a folder of images`);
  }

  const backend = await startBackend(o.backend, out);
  const { model } = await loadModel(o.model);
  const classifiers: Classifier[] = [];
  try {
    const { imageSize: size, imageChannels: channels } = model.config;
    const settings = { topK: o.topk, seed: o.seed };
    const casesShown = Math.min(EVAL_GRID_COLUMNS, count);
    const tiles = (images: Float32Array, first: number, shown: number, c: 1 | 3 = channels) =>
      toImages(images.subarray(first * size * size * c, (first + shown) * size * size * c), shown, size, c);
    let rows: ImageData32[][];
    let figures: object;

    if (o.task === 'class') {
      const guide = (await loadClassifier(o.classifier as string)).classifier;
      classifiers.push(guide);
      const judge = (await loadClassifier(o.judge as string)).classifier;
      classifiers.push(judge);
      const result = evaluateClassGuidance(model, guide, judge, count, settings);
      figures = result.figures;
      rows = result.figures.perClass.map((_, c) => tiles(result.samples, c * count, casesShown));
      out.result(
        `class guidance, ${count} samples per class: hit rate ${(result.figures.classHitRate * 100).toFixed(1)}% ` +
          `(unguided ${(result.figures.unguidedHitRate * 100).toFixed(1)}%) under the judge ${o.judge}`,
      );
      out.result(`  per class: ${result.figures.perClass.map((r, c) => `${c}: ${(r * 100).toFixed(0)}%`).join(', ')}`);
    } else {
      const spec = o.input as string;
      const split = spec === 'mnist' || spec === 'fashion-mnist' ? 'test' : 'all';
      const data = await loadDataset(spec, { split, imageSize: size, limit: count });
      if (data.channels !== channels) {
        throw new DdnError(`${spec}: images have ${data.channels} channel(s), the model makes ${channels}`);
      }
      const clean = { images: data.images, count: data.count };
      if (o.task === 'inpaint') {
        const mask = o.mask !== undefined ? await readMaskPng(o.mask, size) : presetMask(o.maskPreset as MaskPreset, size);
        const result = evaluateInpainting(model, clean, mask, settings);
        figures = result.figures;
        rows = [
          tiles(hidePixels(data.images, mask, channels), 0, casesShown),
          tiles(result.baseline, 0, casesShown),
          tiles(result.samples, 0, casesShown),
          tiles(data.images, 0, casesShown),
        ];
        out.result(
          `inpainting ${data.count} images of ${data.name}: hidden-region PSNR ${result.figures.psnrHidden.toFixed(2)} dB ` +
            `guided, ${result.figures.baselinePsnrHidden.toFixed(2)} dB plain reconstruction of the visible part`,
        );
      } else {
        const result = evaluateSuperResolution(model, clean, o.factor, settings);
        figures = result.figures;
        const low = size / o.factor;
        rows = [
          tiles(repeatPixels(result.lowRes, data.count, low, channels, o.factor), 0, casesShown),
          tiles(result.samples, 0, casesShown),
          tiles(data.images, 0, casesShown),
        ];
        out.result(
          `super-resolution ×${o.factor} of ${data.count} images of ${data.name}: PSNR ${result.figures.psnr.toFixed(2)} dB ` +
            `(bilinear ${result.figures.bilinearPsnr.toFixed(2)} dB, plain reconstruction ${result.figures.reconstructionPsnr.toFixed(2)} dB), ` +
            `consistency ${result.figures.consistencyPsnr.toFixed(2)} dB`,
        );
      }
    }

    await writePng(o.out, rows.flat(), { columns: casesShown });
    const seconds = (figures as { secondsPerSample: number }).secondsPerSample;
    out.result(`${(seconds * 1000).toFixed(1)} ms per guided sample; wrote ${o.out}`);
    out.json({ task: o.task, topK: o.topk, seed: o.seed, out: o.out, ...figures, backend: backend.name });
  } finally {
    for (const c of classifiers) c.dispose();
    model.dispose();
  }
}
