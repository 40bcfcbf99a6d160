/**
 * `ddn eval`: sample quality, reconstruction, rate–distortion, node usage and
 * nearest training images of a model, as JSON, markdown and pictures.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { loadClassifier } from '../classifier/io.js';
import { loadDataset } from '../data/load.js';
import { DdnError } from '../errors.js';
import { evaluateModel, type EvaluationReport } from '../eval/evaluate.js';
import { classifierFeatures } from '../eval/classifierFeatures.js';
import { writePng } from '../image/codec.js';
import { writeLossCurveSvg } from '../image/lossCurve.js';
import { writeFileAtomic } from '../io/atomic.js';
import { loadModel } from '../io/modelDir.js';
import type { UsagePrior } from '../sampling/usagePrior.js';
import { toImages } from '../train/artifacts.js';
import { startBackend } from './backend.js';
import { makeOutput, type Output } from './output.js';
import { parseInteger } from './parse.js';
import { choosePrior, type PriorMode, priorOption, priorTemperatureOption } from './prior.js';

export interface EvalCommandOptions {
  model: string;
  data: string;
  n: number;
  reconstructions: number;
  classifier?: string;
  out: string;
  seed: number;
  /** Node choice of the samples ('auto' when undefined). */
  prior?: PriorMode;
  /** Temperature of the usage prior (1 when undefined). */
  priorTemperature?: number;
  backend?: BackendName;
}

export async function evalCommand(o: EvalCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const { model, file } = await loadModel(o.model);
  const classifier = o.classifier === undefined ? null : (await loadClassifier(o.classifier)).classifier;
  try {
    const { imageSize, imageChannels } = model.config;
    const labelled = o.data === 'mnist' || o.data === 'fashion-mnist';
    const heldOut = await loadDataset(o.data, { split: labelled ? 'test' : 'all', imageSize, limit: o.n });
    const train = await loadDataset(o.data, { split: labelled ? 'train' : 'all', imageSize });
    if (heldOut.channels !== imageChannels) {
      throw new DdnError(`${o.data}: images have ${heldOut.channels} channel(s), the model makes ${imageChannels}`);
    }
    if (classifier !== null && (classifier.config.imageSize !== imageSize || classifier.config.imageChannels !== imageChannels)) {
      throw new DdnError(`${o.classifier}: the classifier takes other images than the model makes`);
    }
    if (!labelled) out.note(`note: ${o.data} has no held-out split, so held-out and training images are the same set`);
    if (classifier === null) out.note('note: no --classifier, so the Fréchet distance and precision/recall are skipped');
    const prior = await choosePrior(model, file, o.model, o.prior ?? 'auto', o.priorTemperature ?? 1, out);

    const { report, images } = evaluateModel(model, heldOut, train, classifier === null ? null : classifierFeatures(classifier), {
      samples: o.n,
      reconstructions: o.reconstructions,
      precisionRecallPoints: 2000,
      nearestSamples: 8,
      seed: o.seed,
      prior,
    }, classifier === null ? undefined : (images) => classifier.predict(images));

    // Files: JSON, markdown, the nearest-neighbour picture, the rate–distortion curve.
    await mkdir(o.out, { recursive: true });
    const summary = { ...report, bitsPerImage: report.bitsPerImage, backend: backend.name, data: o.data, model: o.model, ...priorSummary(prior) };
    await writeFileAtomic(join(o.out, 'eval.json'), `${JSON.stringify(summary, null, 2)}\n`);
    await writeFileAtomic(join(o.out, 'eval.md'), markdown(report, o, prior));
    const cells = images.nearestTrainImages.flatMap((row, i) => [
      ...toImages(images.generated.subarray(i * imageSize * imageSize * imageChannels), 1, imageSize, imageChannels),
      ...toImages(row, row.length / (imageSize * imageSize * imageChannels), imageSize, imageChannels),
    ]);
    await writePng(join(o.out, 'nearest.png'), cells, { columns: 4 });
    await writeLossCurveSvg(
      join(o.out, 'rate-distortion.svg'),
      [{ name: 'PSNR of held-out reconstructions', values: report.rateDistortion.map((p) => ({ step: p.bits, value: p.psnr })) }],
      { title: 'rate–distortion: one point per level', xLabel: 'bits per image', yLabel: 'PSNR (dB)' },
    );

    const fmt = (v: number | null, digits = 3) => (v === null ? 'n/a' : v.toFixed(digits));
    out.result(`Fréchet distance (${report.featureName ?? 'no features'}): ${fmt(report.frechet)}`);
    out.result(`precision ${fmt(report.precision)}, recall ${fmt(report.recall)}`);
    if (report.classAccuracy !== null) {
      out.result(`class accuracy of class-conditional samples under the classifier: ${(100 * report.classAccuracy).toFixed(1)} %`);
    }
    out.result(
      `reconstruction of ${report.reconstructions} held-out images: MSE ${report.mse.toFixed(5)}, PSNR ${report.psnr.toFixed(2)} dB, SSIM ${report.ssim.toFixed(3)}, ${report.bitsPerImage.toFixed(0)} bits`,
    );
    out.result(`node entropy per level (bits): ${report.nodeEntropy.map((h, i) => `${h.toFixed(2)}/${report.maxEntropy[i].toFixed(0)}`).join(' ')}`);
    out.result(`wrote eval.json, eval.md, nearest.png and rate-distortion.svg in ${o.out} (${report.seconds.toFixed(0)} s)`);
    out.json({
      frechet: report.frechet,
      precision: report.precision,
      recall: report.recall,
      psnr: report.psnr,
      ssim: report.ssim,
      bitsPerImage: report.bitsPerImage,
      nodeEntropy: report.nodeEntropy,
      mse: report.mse,
      rateDistortion: report.rateDistortion,
      featureName: report.featureName,
      classAccuracy: report.classAccuracy,
      ...priorSummary(prior),
      out: o.out,
    });
  } finally {
    classifier?.dispose();
    model.dispose();
  }
}

/** Returns the node choice of the samples, for the JSON reports. */
function priorSummary(prior: UsagePrior | undefined): { prior: 'usage' | 'uniform'; priorTemperature?: number } {
  return prior === undefined ? { prior: 'uniform' } : { prior: 'usage', priorTemperature: prior.temperature };
}

function markdown(r: EvaluationReport, o: EvalCommandOptions, prior: UsagePrior | undefined): string {
  const fmt = (v: number | null, digits = 3) => (v === null ? 'n/a' : v.toFixed(digits));
  const lines = [
    `# Evaluation of ${o.model} on ${o.data}`,
    '',
    '| figure | value |',
    '|---|---|',
    `| Fréchet distance (${r.featureName ?? 'no features'}) | ${fmt(r.frechet)} |`,
    `| precision / recall (k = 3) | ${fmt(r.precision)} / ${fmt(r.recall)} |`,
    `| class accuracy of conditional samples | ${r.classAccuracy === null ? 'n/a' : (100 * r.classAccuracy).toFixed(1) + ' %'} |`,
    `| reconstruction MSE / PSNR / SSIM | ${r.mse.toFixed(5)} / ${r.psnr.toFixed(2)} dB / ${r.ssim.toFixed(3)} |`,
    `| bits per image | ${r.bitsPerImage.toFixed(1)} |`,
    `| samples / reconstructions | ${r.samples} / ${r.reconstructions} |`,
    `| node picks of the samples | ${prior === undefined ? 'uniform' : `usage prior, temperature ${prior.temperature}`} |`,
    '',
    '## Rate–distortion (held-out reconstructions after each level)',
    '',
    '| levels | bits | PSNR (dB) | SSIM |',
    '|---|---|---|---|',
    ...r.rateDistortion.map((p) => `| ${p.levels} | ${p.bits.toFixed(0)} | ${p.psnr.toFixed(2)} | ${p.ssim.toFixed(3)} |`),
    '',
    '## Node usage: entropy of the node distribution against log2 K',
    '',
    '| level | entropy (bits) | log2 K |',
    '|---|---|---|',
    ...r.nodeEntropy.map((h, i) => `| ${i + 1} | ${h.toFixed(2)} | ${r.maxEntropy[i].toFixed(2)} |`),
    '',
    '## Nearest training images (nearest.png: sample, then its 3 nearest training images)',
    '',
    '| sample | RMS pixel distances |',
    '|---|---|',
    ...r.nearest.distances.map((d, i) => `| ${i + 1} | ${d.map((v) => v.toFixed(3)).join(', ')} |`),
    '',
  ];
  return lines.join('\n');
}

/** Adds `ddn eval` to the program. */
export function registerEvalCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('eval')
    .description('evaluate a model: Fréchet distance and precision/recall on classifier features, reconstruction, rate–distortion, node usage, nearest training images')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .requiredOption('--data <spec>', 'mnist, fashion-mnist (held-out test split), a folder or an IDX file')
    .requiredOption('--out <dir>', 'folder for eval.json, eval.md, nearest.png and rate-distortion.svg')
    .option('--classifier <dir>', "the project's classifier (from 'ddn classifier train') for the feature metrics")
    .option('--n <n>', 'generated and held-out images for the sample metrics', parseInteger('n', 2, 100000), 2000)
    .option('--reconstructions <n>', 'held-out images reconstructed', parseInteger('reconstructions', 1, 100000), 500)
    .option('--seed <n>', 'random seed', parseInteger('seed', 0, 2 ** 31 - 1), 0)
    .addOption(priorOption())
    .addOption(priorTemperatureOption())
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => evalCommand(opts, makeOutput(Boolean(opts.json))));
}
