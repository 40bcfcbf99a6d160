/**
 * A classifier folder, laid out like a model folder: `config.json` (the
 * classifier config, the weights file's size and SHA-256, the parameter
 * count, how it was trained) beside `classifier.safetensors` (one F32 tensor
 * per parameter). Both are written atomically, weights first.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { DdnError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { sha256Hex } from '../io/hash.js';
import { assignRecord, paramsToRecord } from '../io/modelDir.js';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { Classifier, type ClassifierConfig, validateClassifierConfig } from './cnn.js';

export const CLASSIFIER_CONFIG_FILE = 'config.json';
export const CLASSIFIER_WEIGHTS_FILE = 'classifier.safetensors';
const FORMAT = 'ddn-classifier';

/** The contents of config.json in a classifier folder. */
export interface ClassifierFile {
  format: typeof FORMAT;
  config: ClassifierConfig;
  parameters: number;
  weights: { file: string; bytes: number; sha256: string };
  /** Free-form facts about the training (data, epochs, test accuracy). */
  training?: Record<string, unknown>;
}

export async function saveClassifier(
  classifier: Classifier,
  dir: string,
  training?: Record<string, unknown>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights = writeSafetensors(paramsToRecord(classifier.params), { format: FORMAT });
  await writeFileAtomic(join(dir, CLASSIFIER_WEIGHTS_FILE), weights);
  const file: ClassifierFile = {
    format: FORMAT,
    config: classifier.config,
    parameters: classifier.params.count(),
    weights: { file: CLASSIFIER_WEIGHTS_FILE, bytes: weights.length, sha256: sha256Hex(weights) },
    training,
  };
  await writeFileAtomic(join(dir, CLASSIFIER_CONFIG_FILE), `${JSON.stringify(file, null, 2)}\n`);
}

/** Loads a classifier folder, checking the weights' size, checksum and shapes. */
export async function loadClassifier(dir: string): Promise<{ classifier: Classifier; file: ClassifierFile }> {
  const configPath = join(dir, CLASSIFIER_CONFIG_FILE);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DdnError(`classifier folder not found: ${dir} (train one with 'ddn classifier train --out ${dir}')`);
  }
  if (!existsSync(configPath)) {
    throw new DdnError(`${dir} is not a classifier folder: ${CLASSIFIER_CONFIG_FILE} is missing`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    throw new DdnError(`${configPath}: invalid JSON (${(error as Error).message})`);
  }
  const file = parsed as Partial<ClassifierFile>;
  if (file.format !== FORMAT || typeof file.weights !== 'object' || file.weights === null) {
    throw new DdnError(`${configPath}: not a classifier config (expected "format": "${FORMAT}")`);
  }
  const config = validateClassifierConfig(file.config, configPath);

  const weightsPath = join(dir, CLASSIFIER_WEIGHTS_FILE);
  if (!existsSync(weightsPath)) {
    throw new DdnError(`${dir}: weights file ${CLASSIFIER_WEIGHTS_FILE} is missing`);
  }
  const bytes = await readFile(weightsPath);
  if (bytes.length !== file.weights.bytes || sha256Hex(bytes) !== file.weights.sha256) {
    throw new DdnError(`${weightsPath}: size or checksum does not match ${CLASSIFIER_CONFIG_FILE} (the file was altered)`);
  }
  const classifier = new Classifier(config);
  try {
    assignRecord(classifier.params, readSafetensors(bytes, weightsPath).tensors, weightsPath, '');
  } catch (error) {
    classifier.dispose();
    throw error;
  }
  return { classifier, file: { ...(file as ClassifierFile), config } };
}
