/** `ddn latent-tree`: classify digits by their latent paths (DDN paper, Table 3). */
import type { Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { loadModel } from '../io/modelDir.js';
import { LatentTreeClassifier } from '../latent/tree.js';
import type { DdnModel } from '../model/model.js';
import { startBackend } from './backend.js';
import { makeOutput, type Output } from './output.js';
import { parseInteger } from './parse.js';

export interface LatentTreeCommandOptions {
  model: string;
  /** mnist, fashion-mnist or a labelled IDX file. */
  data: string;
  /** Label budgets: how many labelled training images vote, one run each. */
  labels: number[];
  /** Maximum number of held-out images to classify; all when undefined. */
  testImages?: number;
  backend?: BackendName;
}

/** In an IDX file, every HELD_OUT_STRIDE-th image (positions 9, 19, …) is held out. */
const HELD_OUT_STRIDE = 10;

export async function latentTreeCommand(o: LatentTreeCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const { model } = await loadModel(o.model);
  try {
    const maxLabels = Math.max(...o.labels);
    const { train, test, splitNote } = await loadSplits(o.data, model, maxLabels, o.testImages);
    const classCount = countClasses(train, test);
    out.note(`${o.data}: ${train.count} labelled training images, ${test.count} held-out images (${splitNote})`);

    // Latent paths of every image, then one tree per label budget.
    const trainLatents = model.reconstruct(train.images).latents;
    const testLatents = model.reconstruct(test.images).latents;
    const accuracy: Record<string, number> = {};
    const labelsUsed: Record<string, number> = {};
    for (const budget of o.labels) {
      const used = Math.min(budget, train.count);
      const tree = new LatentTreeClassifier(model.levels, classCount);
      tree.fit(trainLatents.slice(0, used), train.labels!.subarray(0, used));
      accuracy[String(budget)] = tree.accuracy(testLatents, test.labels!);
      labelsUsed[String(budget)] = used;
    }

    out.result(`latent tree on ${o.data}: K = [${[...new Set(model.ks)].join(', ')}], L = ${model.levels}, ${test.count} held-out images`);
    out.result('labels   accuracy');
    for (const budget of o.labels) {
      const key = String(budget);
      const note = labelsUsed[key]! < budget ? ` (only ${labelsUsed[key]} training images)` : '';
      out.result(`${key.padStart(6)}   ${(100 * accuracy[key]!).toFixed(1)} %${note}`);
    }
    out.json({ accuracy, labelsUsed, testImages: test.count, split: splitNote, backend: backend.name });
  } finally {
    model.dispose();
  }
}

/** Training and held-out images at the model's size, both with labels. */
async function loadSplits(
  spec: string,
  model: DdnModel,
  maxLabels: number,
  testImages: number | undefined,
): Promise<{ train: Dataset; test: Dataset; splitNote: string }> {
  const imageSize = model.config.imageSize;
  let train: Dataset;
  let test: Dataset;
  let splitNote: string;
  if (spec === 'mnist' || spec === 'fashion-mnist') {
    train = await loadDataset(spec, { split: 'train', imageSize, limit: maxLabels });
    test = await loadDataset(spec, { split: 'test', imageSize, limit: testImages });
    splitNote =
      spec === 'mnist'
        ? 'fixed split of the embedded digits: in each class every 10th digit is held out'
        : 'the standard Fashion-MNIST train and test files';
  } else {
    const all = await loadDataset(spec, { split: 'all', imageSize });
    ({ train, test } = splitEveryTenth(all, maxLabels, testImages));
    splitNote = `every ${HELD_OUT_STRIDE}th image of the file (positions 9, 19, …) is held out`;
  }
  for (const dataset of [train, test]) {
    if (dataset.labels === undefined) {
      throw new DdnError(`${spec}: no labels found; the latent tree needs a labelled dataset (an IDX labels file beside the images)`);
    }
    if (dataset.channels !== model.config.imageChannels || dataset.height !== imageSize) {
      throw new DdnError(
        `${spec}: images are ${dataset.height}×${dataset.width}×${dataset.channels}, ` +
          `the model takes ${imageSize}×${imageSize}×${model.config.imageChannels}`,
      );
    }
  }
  return { train, test, splitNote };
}

function splitEveryTenth(all: Dataset, maxTrain: number, maxTest: number | undefined): { train: Dataset; test: Dataset } {
  const length = all.height * all.width * all.channels;
  const pick = (isTest: boolean, limit: number): Dataset => {
    const indices: number[] = [];
    for (let i = 0; i < all.count && indices.length < limit; i++) {
      if ((i % HELD_OUT_STRIDE === HELD_OUT_STRIDE - 1) === isTest) indices.push(i);
    }
    const images = new Float32Array(indices.length * length);
    indices.forEach((from, to) => images.set(all.images.subarray(from * length, (from + 1) * length), to * length));
    const labels = all.labels === undefined ? undefined : Int32Array.from(indices, (i) => all.labels![i]!);
    return { ...all, images, labels, count: indices.length };
  };
  return { train: pick(false, maxTrain), test: pick(true, maxTest ?? Infinity) };
}

function countClasses(train: Dataset, test: Dataset): number {
  let max = 0;
  for (const labels of [train.labels!, test.labels!]) {
    for (const label of labels) max = Math.max(max, label);
  }
  return Math.max(max + 1, train.classNames?.length ?? 0);
}

/** Adds `ddn latent-tree` to the program. */
export function registerLatentTreeCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('latent-tree')
    .description('classify held-out images by a decision tree on latent paths, for each label budget')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .requiredOption('--data <spec>', 'mnist (fixed split of the embedded digits), fashion-mnist, or a labelled IDX file (every 10th image held out)')
    .option('--labels <list>', 'comma-separated label budgets: labelled training images that vote', parseLabelBudgets, [128, 1024, 10000])
    .option('--test-images <n>', 'most held-out images to classify (default: all)', parseInteger('test-images', 1))
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => latentTreeCommand(opts, makeOutput(Boolean(opts.json))));
}

/** Parses "128,1024,10000" into positive integers. */
export function parseLabelBudgets(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const budgets = parts.map(Number);
  if (parts.some((part) => part === '') || budgets.some((b) => !Number.isSafeInteger(b) || b < 1)) {
    throw new DdnError(`invalid --labels '${text}': expected comma-separated positive integers, such as 128,1024,10000`);
  }
  return budgets;
}
