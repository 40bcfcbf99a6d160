/**
 * `node-prior.json` in a model folder: node usage counts measured by
 * `ddn prior`, keyed to the weights they were measured on. Further
 * training replaces the weights, and a prior whose weights SHA-256 differs from
 * config.json's is stale.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { DdnError } from '../errors.js';
import type { NodeCounts } from '../sampling/nodeCounts.js';
import { writeFileAtomic } from './atomic.js';
import type { ModelFile } from './modelDir.js';

export const PRIOR_FILE = 'node-prior.json';

/** Contents of node-prior.json. */
export interface PriorFile {
  format: 'ddn-node-prior';
  formatVersion: 1;
  /** SHA-256 of the weights (model.safetensors) the counts were measured on. */
  weightsSha256: string;
  /** Training step of those weights as config.json records it, or null when it records none. */
  step: number | null;
  /** The data set reconstructed, as passed to `ddn prior --data`. */
  data: string;
  /** 'class' when rows are classes, 'none' for the single row of an unconditional model. */
  condition: 'none' | 'class';
  ks: number[];
  /** Images counted per row. */
  images: number[];
  /** Picks per node, `counts[row][level][node]`. */
  counts: number[][][];
}

/** Returns the training step that config.json records, or null. */
export function modelStep(modelFile: ModelFile): number | null {
  const steps = modelFile.training?.steps;
  return Number.isSafeInteger(steps) ? (steps as number) : null;
}

/** Writes node-prior.json into the model folder `dir`, atomically. Returns its path. */
export async function writePriorFile(dir: string, modelFile: ModelFile, counts: NodeCounts, data: string): Promise<string> {
  const file: PriorFile = {
    format: 'ddn-node-prior',
    formatVersion: 1,
    weightsSha256: modelFile.weights.sha256,
    step: modelStep(modelFile),
    data,
    condition: modelFile.config.condition === 'class' ? 'class' : 'none',
    ks: counts.ks,
    images: counts.images,
    counts: counts.counts,
  };
  const path = join(dir, PRIOR_FILE);
  // One field per line and one level's counts per line keep the file small and readable.
  const fields = Object.entries(file)
    .filter(([key]) => key !== 'counts')
    .map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
  const rows = file.counts.map((levels) => `    [\n${levels.map((nodes) => `      ${JSON.stringify(nodes)}`).join(',\n')}\n    ]`);
  fields.push(`  "counts": [\n${rows.join(',\n')}\n  ]`);
  await writeFileAtomic(path, `{\n${fields.join(',\n')}\n}\n`);
  return path;
}

/** Reads and validates node-prior.json of `dir`. Returns null when there is none. */
export async function readPriorFile(dir: string): Promise<PriorFile | null> {
  const path = join(dir, PRIOR_FILE);
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new DdnError(`${path}: invalid JSON (${(error as Error).message}); measure it again with 'ddn prior --model ${dir}'`);
  }
  validatePriorFile(parsed, path);
  return parsed;
}

function validatePriorFile(value: unknown, path: string): asserts value is PriorFile {
  const invalid = (problem: string) =>
    new DdnError(`${path}: invalid node prior: ${problem}; measure it again with 'ddn prior'`);
  const file = value as Partial<PriorFile> | null;
  if (typeof file !== 'object' || file === null || file.format !== 'ddn-node-prior') {
    throw invalid('expected "format": "ddn-node-prior"');
  }
  if (file.formatVersion !== 1) throw invalid(`unsupported formatVersion ${String(file.formatVersion)}, expected 1`);
  if (typeof file.weightsSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file.weightsSha256)) {
    throw invalid('"weightsSha256" is not a SHA-256 in hex');
  }
  if (file.step !== null && !Number.isSafeInteger(file.step)) throw invalid('"step" is neither an integer nor null');
  if (file.condition !== 'none' && file.condition !== 'class') throw invalid('"condition" is neither "none" nor "class"');
  const ks = file.ks;
  if (!Array.isArray(ks) || ks.length === 0 || !ks.every((k) => Number.isSafeInteger(k) && k >= 1)) {
    throw invalid('"ks" is not a list of positive integers');
  }
  const counts = file.counts;
  const images = file.images;
  if (!Array.isArray(counts) || counts.length === 0 || !Array.isArray(images) || images.length !== counts.length) {
    throw invalid('"counts" and "images" need one entry per row');
  }
  counts.forEach((levels, row) => {
    if (!Array.isArray(levels) || levels.length !== ks.length) throw invalid(`row ${row} does not have ${ks.length} levels`);
    levels.forEach((nodes, level) => {
      const valid = Array.isArray(nodes) && nodes.length === ks[level] && nodes.every((c) => Number.isSafeInteger(c) && c >= 0);
      if (!valid) throw invalid(`row ${row}, level ${level} is not ${ks[level]} non-negative integer counts`);
      if (!nodes.some((c) => c > 0)) throw invalid(`row ${row}, level ${level} has no counts`);
    });
  });
}

/** Node counts of a validated prior file. */
export function priorCounts(file: PriorFile): NodeCounts {
  return { ks: file.ks, rows: file.counts.length, counts: file.counts, images: file.images };
}

/**
 * Raises DdnError unless `file` was measured on the weights in `modelDir`
 * and fits its levels and classes.
 */
export function checkPriorMatchesModel(file: PriorFile, modelFile: ModelFile, ks: readonly number[], modelDir: string): void {
  const path = join(modelDir, PRIOR_FILE);
  const again = `run 'ddn prior --model ${modelDir}' again, or pass --prior uniform`;
  if (file.weightsSha256 !== modelFile.weights.sha256) {
    const stepOf = (step: number | null) => (step === null ? 'an unknown step' : `step ${step}`);
    throw new DdnError(
      `${path} is stale: it was measured on ${stepOf(file.step)} (weights ${file.weightsSha256.slice(0, 12)}…), ` +
        `but the model is at ${stepOf(modelStep(modelFile))} (weights ${modelFile.weights.sha256.slice(0, 12)}…); ${again}`,
    );
  }
  const { condition, classCount } = modelFile.config;
  const rows = condition === 'class' ? classCount : 1;
  if (file.counts.length !== rows || file.condition !== (condition === 'class' ? 'class' : 'none')) {
    throw new DdnError(`${path} has ${file.counts.length} row(s) of counts, but the model needs ${rows}; ${again}`);
  }
  if (file.ks.length !== ks.length || file.ks.some((k, level) => k !== ks[level])) {
    throw new DdnError(`${path} has K per level [${file.ks.join(', ')}], but the model has [${ks.join(', ')}]; ${again}`);
  }
}
