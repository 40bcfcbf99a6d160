/**
 * `ddn prior`: measures which nodes reconstruction of the training images
 * picks and writes the counts to node-prior.json in the model folder. Also
 * the `--prior` choice of `ddn sample` and `ddn eval`.
 */
import { type Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { loadDataset } from '../data/load.js';
import { DdnError } from '../errors.js';
import type { ModelFile } from '../io/modelDir.js';
import { loadModel } from '../io/modelDir.js';
import { PRIOR_FILE, checkPriorMatchesModel, modelStep, priorCounts, readPriorFile, writePriorFile } from '../io/priorFile.js';
import type { DdnModel } from '../model/model.js';
import { type NodeCounts, checkPriorSupported, measureNodeCounts } from '../sampling/nodeCounts.js';
import { UsagePrior } from '../sampling/usagePrior.js';
import { startBackend } from './backend.js';
import { makeOutput, type Output } from './output.js';
import { parseChoice, parseInteger, parseNumber } from './parse.js';

export interface PriorCommandOptions {
  model: string;
  /** Data to reconstruct, or the model's training data when undefined. */
  data?: string;
  /** Keeps only the first images of the data. */
  images?: number;
  backend?: BackendName;
}

export async function priorCommand(o: PriorCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const loaded = await loadModel(o.model);
  try {
    const summary = await writeNodePrior(loaded, o, out);
    out.json({ ...summary, backend: backend.name });
  } finally {
    loaded.model.dispose();
  }
}

/**
 * Measures the node usage of `model`, loaded from `o.model`, and writes it
 * beside the weights, with progress and a per-level summary on `out`. The
 * backend must be set. Returns the summary that `--json` prints.
 */
export async function writeNodePrior({ model, file }: { model: DdnModel; file: ModelFile }, o: PriorCommandOptions, out: Output) {
  checkPriorSupported(model, o.model);
  const spec = o.data ?? (file.training?.data as string | undefined);
  if (spec === undefined) {
    throw new DdnError(`${o.model} does not record its training data: pass --data`);
  }
  const { imageSize, imageChannels } = model.config;
  const labelled = spec === 'mnist' || spec === 'fashion-mnist';
  const data = await loadDataset(spec, { split: labelled ? 'train' : 'all', imageSize, limit: o.images });
  if (data.height !== imageSize || data.channels !== imageChannels) {
    throw new DdnError(
      `${spec}: images are ${data.height}×${data.width}×${data.channels}, the model takes ${imageSize}×${imageSize}×${imageChannels}`,
    );
  }

  out.note(`prior: reconstructing ${data.count} ${data.name} images`);
  const started = Date.now();
  // About ten progress lines, however large the data.
  let tenthsShown = 0;
  const counts = measureNodeCounts(model, data, (done, total) => {
    const tenths = Math.floor((10 * done) / total);
    if (tenths > tenthsShown) out.note(`prior: ${done}/${total} images`);
    tenthsShown = Math.max(tenthsShown, tenths);
  });
  const path = await writePriorFile(o.model, file, counts, spec);

  const step = modelStep(file);
  out.result(`wrote ${path}: node usage of ${data.count} ${data.name} images${step === null ? '' : ` at step ${step}`}`);
  const levels = usedNodes(counts);
  const perClass = counts.rows > 1;
  out.result(`nodes picked at least once per level${perClass ? ' (all classes; fewest and most for one class)' : ''}:`);
  for (const l of levels) {
    out.result(`  level ${l.level}: ${l.used}/${l.k}${perClass ? ` (one class: ${l.usedPerRowMin} to ${l.usedPerRowMax})` : ''}`);
  }
  out.note(`prior: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { out: path, images: data.count, data: spec, step, rows: counts.rows, levels };
}

/** Nodes picked at least once at each level: in any row, and the fewest and most in one row. */
function usedNodes(counts: NodeCounts) {
  return counts.ks.map((k, level) => {
    const usedPerRow = counts.counts.map((levelsOfRow) => levelsOfRow[level].filter((count) => count > 0).length);
    let used = 0;
    for (let node = 0; node < k; node++) {
      if (counts.counts.some((levelsOfRow) => levelsOfRow[level][node] > 0)) used++;
    }
    return { level: level + 1, k, used, usedPerRowMin: Math.min(...usedPerRow), usedPerRowMax: Math.max(...usedPerRow) };
  });
}

/** The `--prior` choice: the usage prior when a matching file exists, always it, or never. */
export type PriorMode = 'auto' | 'usage' | 'uniform';

export const PRIOR_MODES: readonly PriorMode[] = ['auto', 'usage', 'uniform'];

/** Makes the `--prior` option of `ddn sample` and `ddn eval`. */
export function priorOption(): Option {
  return new Option(
    '--prior <mode>',
    `how each level picks its node: usage (from ${PRIOR_FILE}, written by 'ddn prior'), uniform, or auto (usage when the file matches the model, else uniform)`,
  )
    .argParser(parseChoice('prior', PRIOR_MODES))
    .default('auto');
}

/** Makes the `--prior-temperature` option of `ddn sample` and `ddn eval`. */
export function priorTemperatureOption(): Option {
  return new Option(
    '--prior-temperature <x>',
    'usage prior: node probability ∝ count^(1/x); below 1 favors the most used nodes, above 1 flattens toward uniform over used nodes',
  )
    .argParser(parseNumber('prior-temperature', 0, 100, { minInclusive: false }))
    .default(1);
}

/**
 * Loads the usage prior that `mode` requests and notes on stderr which one
 * runs. Returns undefined for uniform picks. Under 'auto', a missing file
 * means uniform, and a stale or unsupported one means uniform with a
 * warning. Under 'usage' both raise DdnError.
 */
export async function choosePrior(
  model: DdnModel,
  modelFile: ModelFile,
  modelDir: string,
  mode: PriorMode,
  temperature: number,
  out: Output,
): Promise<UsagePrior | undefined> {
  if (mode === 'uniform') {
    out.note('prior: uniform node picks (--prior uniform)');
    return undefined;
  }
  const file = await readPriorFile(modelDir);
  if (file === null) {
    if (mode === 'usage') {
      throw new DdnError(`--prior usage: ${modelDir} has no ${PRIOR_FILE}; measure it with 'ddn prior --model ${modelDir}'`);
    }
    return undefined;
  }
  try {
    checkPriorSupported(model, modelDir);
    checkPriorMatchesModel(file, modelFile, model.ks, modelDir);
  } catch (error) {
    if (mode === 'usage' || !(error instanceof DdnError)) throw error;
    out.note(`warning: ${error.message}; picking nodes uniformly`);
    return undefined;
  }
  const step = file.step === null ? '' : ` at step ${file.step}`;
  const total = file.images.reduce((a, b) => a + b, 0);
  const shaped = temperature === 1 ? '' : `, temperature ${temperature}`;
  out.note(`prior: picking nodes by usage from ${PRIOR_FILE} (${total} ${file.data} images${step}${shaped}); --prior uniform picks uniformly`);
  return new UsagePrior(priorCounts(file), temperature);
}

/** Adds `ddn prior` to the program. */
export function registerPriorCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('prior')
    .description(`measure how often reconstruction of the training images picks each node (per class for a class-conditional model) and write ${PRIOR_FILE} into the model folder; ddn sample and ddn eval then draw nodes by it`)
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .option('--data <spec>', 'mnist, fashion-mnist (their training split), a folder or an IDX file (default: the model\'s training data)')
    .option('--images <n>', 'reconstruct only the first n images (default: all)', parseInteger('images', 1, 10_000_000))
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => priorCommand(opts, makeOutput(Boolean(opts.json))));
}
