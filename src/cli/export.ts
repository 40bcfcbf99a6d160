/**
 * `ddn export`: a trained model as a static folder that the web playground
 * loads with `fetch`. The folder holds:
 *   export.json              which parts are present (the page reads it first)
 *   config.json              the model folder's config, unchanged
 *   model.safetensors        the weights, byte for byte (same SHA-256)
 *   classifier/              optional: config.json + classifier.safetensors
 *   examples.safetensors     optional: a few test images [n, S, S, c] F32,
 *                            with labels [n] I32 when the data has them
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { CLASSIFIER_CONFIG_FILE, CLASSIFIER_WEIGHTS_FILE, loadClassifier } from '../classifier/io.js';
import { loadDataset } from '../data/load.js';
import { DdnError } from '../errors.js';
import { CONFIG_FILE, WEIGHTS_FILE, loadModel, readModelFile } from '../io/modelDir.js';
import type { ModelConfig } from '../model/config.js';
import { type SafetensorsTensor, writeSafetensors } from '../io/safetensors.js';
import { startBackend } from './backend.js';
import { makeOutput, type Output } from './output.js';
import { parseInteger } from './parse.js';

export const EXPORT_FILE = 'export.json';
export const EXPORT_FORMAT = 'ddn-web-export';
export const CLASSIFIER_FOLDER = 'classifier';
export const EXAMPLES_FILE = 'examples.safetensors';

/** The content of export.json. Paths are relative to the export folder. */
export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: 1;
  model: { config: string; weights: string };
  /** The classifier folder, or null when none was exported. */
  classifier: string | null;
  /** The examples file, or null when none was exported. */
  examples: { file: string; count: number; source: string } | null;
}

export interface ExportCommandOptions {
  /** Run folder of a trained model (config.json + model.safetensors). */
  model: string;
  out: string;
  /** Classifier folder for class guidance in the page. */
  classifier?: string;
  /** Dataset spec for the example images, or 'none'. The default is the model's training data. */
  examples?: string;
  exampleCount: number;
  backend?: BackendName;
}

export async function exportCommand(o: ExportCommandOptions, out: Output): Promise<void> {
  prepareOutFolder(o.out);
  await startBackend(o.backend, out);

  // Copy the pair, then load the copy: that checks the weights' size,
  // checksum and shapes of exactly the files written, even when a training
  // run replaced the source folder's files in between.
  await readModelFile(o.model);
  await mkdir(o.out, { recursive: true });
  // The manifest goes last, so a failed export leaves none behind.
  await rm(join(o.out, EXPORT_FILE), { force: true });
  await copyFile(join(o.model, CONFIG_FILE), join(o.out, CONFIG_FILE));
  await copyFile(join(o.model, WEIGHTS_FILE), join(o.out, WEIGHTS_FILE));
  const { model, file } = await loadModel(o.out);
  let examples: ExportManifest['examples'] = null;
  let classifierCopied = false;
  try {
    const { imageChannels } = model.config;

    // The classifier must judge images with the model's channel count.
    const classifierOut = join(o.out, CLASSIFIER_FOLDER);
    await rm(classifierOut, { recursive: true, force: true });
    if (o.classifier !== undefined) {
      await loadClassifier(o.classifier).then(({ classifier }) => classifier.dispose());
      await mkdir(classifierOut, { recursive: true });
      await copyFile(join(o.classifier, CLASSIFIER_CONFIG_FILE), join(classifierOut, CLASSIFIER_CONFIG_FILE));
      await copyFile(join(o.classifier, CLASSIFIER_WEIGHTS_FILE), join(classifierOut, CLASSIFIER_WEIGHTS_FILE));
      const { classifier, file: classifierFile } = await loadClassifier(classifierOut);
      classifier.dispose();
      if (classifierFile.config.imageChannels !== imageChannels) {
        throw new DdnError(
          `${o.classifier}: the classifier takes ${classifierFile.config.imageChannels}-channel images, ` +
            `the model makes ${imageChannels}-channel images`,
        );
      }
      classifierCopied = true;
    }

    // Example images for the page's editing and encoding panels. When they
    // default to the training data and that cannot be read here, the export
    // goes on without them.
    const examplesPath = join(o.out, EXAMPLES_FILE);
    await rm(examplesPath, { force: true });
    const trainingData = typeof file.training?.data === 'string' ? file.training.data : undefined;
    const spec = o.examples ?? trainingData;
    if (spec !== undefined && spec !== 'none' && o.exampleCount > 0) {
      try {
        examples = await writeExamples(spec, o.exampleCount, model.config, examplesPath);
      } catch (error) {
        if (o.examples !== undefined || !(error instanceof DdnError)) throw error;
        out.note(
          `no example images, because the training data '${spec}' could not be read (${error.message}). ` +
            'Pass --examples SPEC to choose them.',
        );
      }
    }
  } finally {
    model.dispose();
  }

  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    version: 1,
    model: { config: CONFIG_FILE, weights: WEIGHTS_FILE },
    classifier: classifierCopied ? `${CLASSIFIER_FOLDER}/` : null,
    examples,
  };
  await writeFile(join(o.out, EXPORT_FILE), `${JSON.stringify(manifest, null, 2)}\n`);

  const bytes = await folderBytes(o.out);
  out.result(
    `exported ${o.model} to ${o.out}: ${(bytes / 1024).toFixed(0)} KiB, ` +
      `classifier ${classifierCopied ? 'included' : 'none (class guidance off)'}, ` +
      `${examples === null ? 'no' : examples.count} example images`,
  );
  out.json({ out: o.out, bytes, classifier: classifierCopied, examples: examples?.count ?? 0 });
}

/** Writes the first `count` images of `spec` (its test split where it has one) as examples. */
async function writeExamples(
  spec: string,
  count: number,
  config: ModelConfig,
  path: string,
): Promise<NonNullable<ExportManifest['examples']>> {
  const { imageSize, imageChannels } = config;
  const split = spec === 'mnist' || spec === 'fashion-mnist' ? 'test' : 'all';
  const dataset = await loadDataset(spec, { split, imageSize, limit: count });
  if (dataset.channels !== imageChannels || dataset.height !== imageSize) {
    throw new DdnError(
      `${spec}: images are ${dataset.height}×${dataset.width}×${dataset.channels}, ` +
        `the model takes ${imageSize}×${imageSize}×${imageChannels}`,
    );
  }
  const tensors: Record<string, SafetensorsTensor> = {
    images: { dtype: 'F32', shape: [dataset.count, imageSize, imageSize, imageChannels], data: dataset.images },
  };
  if (dataset.labels !== undefined) {
    tensors.labels = { dtype: 'I32', shape: [dataset.count], data: dataset.labels };
  }
  await writeFile(path, writeSafetensors(tensors, { format: 'ddn-examples', source: dataset.name }));
  return { file: EXAMPLES_FILE, count: dataset.count, source: dataset.name };
}

/**
 * Accepts a missing folder, or one that contains only what an export writes
 * (an earlier export, complete or not), which is overwritten. Anything else
 * is rejected so that no other files are replaced or mixed in.
 */
function prepareOutFolder(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) {
    throw new DdnError(`--out ${dir} is a file: expected a folder for the export`);
  }
  const owned = new Set([EXPORT_FILE, CONFIG_FILE, WEIGHTS_FILE, CLASSIFIER_FOLDER, EXAMPLES_FILE]);
  const foreign = readdirSync(dir).filter((name) => !owned.has(name));
  if (foreign.length > 0) {
    throw new DdnError(
      `--out ${dir} contains files that are not part of an export (${foreign.slice(0, 3).join(', ')}): ` +
        'choose a new or empty folder',
    );
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await folderBytes(path) : statSync(path).size;
  }
  return total;
}

/** Adds `ddn export` to the program. */
export function registerExportCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('export')
    .description('write a trained model as a static folder for the web playground (web/public/models/NAME)')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .requiredOption('--out <dir>', 'folder to write; a new or empty folder, or an earlier export')
    .option('--classifier <dir>', 'classifier folder (ddn classifier train) for class guidance in the page')
    .option('--examples <spec>', "data for the page's example images: mnist, fashion-mnist, a folder or IDX file, or none (default: the model's training data)")
    .option('--example-count <n>', 'number of example images', parseInteger('example-count', 0, 256), 16)
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => exportCommand(opts, makeOutput(Boolean(opts.json))));
}
