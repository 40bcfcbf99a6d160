/** `ddn classifier train` and `ddn classifier eval`: the project's own image classifier. */
import type { Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { Classifier, makeClassifierConfig } from '../classifier/cnn.js';
import { loadClassifier, saveClassifier } from '../classifier/io.js';
import { accuracy, holdOut, trainClassifier } from '../classifier/train.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { startBackend } from './backend.js';
import { makeOutput, type Output } from './output.js';
import { parseInteger, parseNumber } from './parse.js';

/** Share of a dataset without a test split that is held out for testing. */
const HELD_OUT_FRACTION = 0.1;

/** Adds `classifier train` and `classifier eval` to the program. */
export function registerClassifierCommands(
  program: Command,
  backendOption: () => Option,
  jsonOption: () => Option,
): void {
  const group = program
    .command('classifier')
    .description('train or score the image classifier that guides class generation and judges it');

  group
    .command('train')
    .description('train a small CNN on labelled images and report its accuracy on held-out test images')
    .requiredOption('--data <spec>', 'mnist, fashion-mnist, a folder with one sub-folder per class, or a labelled IDX file')
    .requiredOption('--out <dir>', 'classifier folder to write (config.json and classifier.safetensors)')
    .option('--epochs <n>', 'passes over the training images', parseInteger('epochs', 1, 1000), 6)
    .option('--batch <n>', 'images per step', parseInteger('batch', 1, 65536), 64)
    .option('--lr <x>', 'Adam learning rate', parseNumber('lr', 0, 1, { minInclusive: false }), 1e-3)
    .option('--width <n>', 'channels of the first stage (the second has twice as many)', parseInteger('width', 1, 1024), 16)
    .option('--shift <n>', 'largest random shift in pixels applied to training images (0: none)', parseInteger('shift', 0, 16), 2)
    .option('--limit <n>', 'use only the first n training images', parseInteger('limit', 1))
    .option('--seed <n>', 'fixes the initial weights, the batch order and the shifts', parseInteger('seed', 0, 2 ** 31 - 1), 0)
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => classifierTrainCommand(opts, makeOutput(Boolean(opts.json))));

  group
    .command('eval')
    .description('report the accuracy of a trained classifier on labelled images')
    .requiredOption('--classifier <dir>', 'classifier folder written by classifier train')
    .requiredOption('--data <spec>', 'mnist or fashion-mnist (their test split), a class-folder or a labelled IDX file')
    .option('--limit <n>', 'score only the first n images', parseInteger('limit', 1))
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => classifierEvalCommand(opts, makeOutput(Boolean(opts.json))));
}

export interface ClassifierTrainCommandOptions {
  data: string;
  out: string;
  epochs: number;
  batch: number;
  lr: number;
  width: number;
  seed: number;
  shift: number;
  limit?: number;
  backend?: BackendName;
}

export async function classifierTrainCommand(o: ClassifierTrainCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const { train, test } = await loadSplits(o.data, o.seed, o.limit);
  const classes = countClasses(train);
  const config = makeClassifierConfig({
    imageSize: train.height,
    imageChannels: train.channels,
    classes,
    width: o.width,
    classNames: train.classNames?.length === classes ? train.classNames : undefined,
  });
  const classifier = new Classifier(config, o.seed);
  out.note(
    `data: ${train.name}, ${train.count} training and ${test.count} test images ` +
      `${train.height}×${train.width}×${train.channels}, ${classes} classes`,
  );
  out.note(`classifier: width ${o.width}, ${classifier.params.count().toLocaleString('en-US')} parameters`);

  const started = Date.now();
  const reports = trainClassifier(classifier, train, {
    epochs: o.epochs,
    batchSize: o.batch,
    learningRate: o.lr,
    seed: o.seed,
    maxShift: o.shift,
    validation: test,
    onEpoch: (r) =>
      out.note(
        `epoch ${r.epoch}/${o.epochs}: loss ${r.loss.toFixed(4)}, ` +
          `test accuracy ${((r.validationAccuracy ?? 0) * 100).toFixed(2)}%, ${r.seconds.toFixed(0)} s`,
      ),
  });
  const testAccuracy = reports[reports.length - 1].validationAccuracy ?? 0;
  const seconds = (Date.now() - started) / 1000;
  await saveClassifier(classifier, o.out, {
    data: o.data,
    trainImages: train.count,
    testImages: test.count,
    testAccuracy,
    epochs: o.epochs,
    batch: o.batch,
    learningRate: o.lr,
    seed: o.seed,
    maxShift: o.shift,
    seconds,
  });
  classifier.dispose();

  out.result(`test accuracy ${(testAccuracy * 100).toFixed(2)}% on ${test.count} images held out of training`);
  out.result(`wrote ${o.out}`);
  out.json({
    out: o.out,
    testAccuracy,
    testImages: test.count,
    trainImages: train.count,
    classes,
    epochs: reports,
    seconds,
    backend: backend.name,
  });
}

export interface ClassifierEvalCommandOptions {
  classifier: string;
  data: string;
  limit?: number;
  backend?: BackendName;
}

export async function classifierEvalCommand(o: ClassifierEvalCommandOptions, out: Output): Promise<void> {
  await startBackend(o.backend, out);
  const { classifier, file } = await loadClassifier(o.classifier);
  try {
    const split = o.data === 'mnist' || o.data === 'fashion-mnist' ? 'test' : 'all';
    const data = await loadDataset(o.data, { split, imageSize: file.config.imageSize, limit: o.limit });
    const value = accuracy(classifier, data);
    out.result(`accuracy ${(value * 100).toFixed(2)}% on ${data.count} images of ${data.name} (${split} split)`);
    out.json({ accuracy: value, images: data.count, split });
  } finally {
    classifier.dispose();
  }
}

/**
 * Loads the training and test images: the fixed test split of mnist and
 * fashion-mnist, or a seeded tenth held out of any other labelled data.
 */
async function loadSplits(spec: string, seed: number, limit?: number): Promise<{ train: Dataset; test: Dataset }> {
  if (spec === 'mnist' || spec === 'fashion-mnist') {
    const train = await loadDataset(spec, { split: 'train', limit });
    const test = await loadDataset(spec, { split: 'test' });
    return { train, test };
  }
  const all = await loadDataset(spec, { split: 'all', limit });
  if (all.labels === undefined) {
    throw new DdnError(`${spec}: the images have no labels (use one sub-folder per class, or an IDX file with its labels file)`);
  }
  return holdOut(all, HELD_OUT_FRACTION, seed);
}

function countClasses(data: Dataset): number {
  if (data.labels === undefined) {
    throw new DdnError(`${data.name}: the images have no labels; a classifier needs labelled data`);
  }
  let max = 0;
  for (const label of data.labels) max = Math.max(max, label);
  return Math.max(max + 1, data.classNames?.length ?? 0, 2);
}
