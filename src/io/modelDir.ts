/**
 * A model folder: `config.json` (the model config, the weights file's size
 * and SHA-256, the parameter count) beside `model.safetensors` (one F32
 * tensor per parameter, named as in the parameter store).
 *
 * The two files are replaced as a pair. The new weights are first written
 * to `model.safetensors.pending`, then config.json, then the pending file
 * is renamed to model.safetensors, each step atomic. A crash between the
 * second and third steps leaves a config.json whose checksum matches the
 * pending file, and loadModel reads the weights from there.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';

import { DdnError } from '../errors.js';
import { type ModelConfig, validateConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import type { ParamStore } from '../model/params.js';
import { writeFileAtomic } from './atomic.js';
import { sha256Hex } from './hash.js';
import { type SafetensorsTensor, readSafetensors, writeSafetensors } from './safetensors.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const PENDING_WEIGHTS_FILE = 'model.safetensors.pending';

/** What config.json holds. */
export interface ModelFile {
  format: 'ddn-model';
  config: ModelConfig;
  parameters: number;
  weights: { file: string; bytes: number; sha256: string };
  /** Free-form facts about how the model was made (data, steps). */
  training?: Record<string, unknown>;
}

/** Host copies of every parameter, by name. */
export function paramsToRecord(params: ParamStore, prefix = ''): Record<string, SafetensorsTensor> {
  const record: Record<string, SafetensorsTensor> = {};
  const list = params.list();
  params.names().forEach((name, i) => {
    record[prefix + name] = {
      dtype: 'F32',
      shape: list[i].shape,
      data: list[i].dataSync() as Float32Array,
    };
  });
  return record;
}

/** Writes config.json and model.safetensors, replacing both as a pair. */
export async function saveModel(
  model: DdnModel,
  dir: string,
  training?: Record<string, unknown>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights = writeSafetensors(paramsToRecord(model.params), { format: 'ddn-model' });
  const pendingPath = join(dir, PENDING_WEIGHTS_FILE);
  await writeFileAtomic(pendingPath, weights);
  const file: ModelFile = {
    format: 'ddn-model',
    config: model.config,
    parameters: model.params.count(),
    weights: { file: WEIGHTS_FILE, bytes: weights.length, sha256: sha256Hex(weights) },
    training,
  };
  await writeFileAtomic(join(dir, CONFIG_FILE), `${JSON.stringify(file, null, 2)}\n`);
  await rename(pendingPath, join(dir, WEIGHTS_FILE));
  await syncFolderBestEffort(dir);
}

/**
 * Flushes the folder entry of the rename. Some platforms (Windows) do not
 * allow opening a folder for fsync, so a failure is ignored there.
 */
async function syncFolderBestEffort(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  await handle?.sync().catch(() => undefined);
  await handle?.close();
}

/** Reads and checks config.json of a model folder. */
export async function readModelFile(dir: string): Promise<ModelFile> {
  if (!existsSync(dir)) {
    throw new DdnError(`model folder not found: ${dir}`);
  }
  if (!statSync(dir).isDirectory()) {
    throw new DdnError(`${dir} is not a model folder: expected a folder with ${CONFIG_FILE} and ${WEIGHTS_FILE}`);
  }
  const configPath = join(dir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new DdnError(`${dir} is not a model folder: ${CONFIG_FILE} is missing (train one with 'ddn train --out ${dir}')`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (error) {
    throw new DdnError(`${configPath}: invalid JSON (${(error as Error).message})`);
  }
  const file = parsed as Partial<ModelFile>;
  if (file.format !== 'ddn-model' || typeof file.weights !== 'object' || file.weights === null) {
    throw new DdnError(`${configPath}: not a DDN model config (expected "format": "ddn-model")`);
  }
  const { bytes, sha256 } = file.weights as Partial<ModelFile['weights']>;
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 0 || typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new DdnError(`${configPath}: invalid "weights" entry: expected a byte count and a SHA-256 in hex`);
  }
  const config = validateConfig(file.config, configPath);
  return { ...(file as ModelFile), config };
}

/** Loads a model folder, checking the weights' size, checksum and shapes. */
export async function loadModel(dir: string): Promise<{ model: DdnModel; file: ModelFile }> {
  const file = await readModelFile(dir);
  const { bytes, path: weightsPath } = await readMatchingWeights(dir, file);
  const model = new DdnModel(file.config);
  try {
    assignRecord(model.params, readSafetensors(bytes, weightsPath).tensors, weightsPath, '');
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { model, file };
}

/**
 * Reads the weights whose size and SHA-256 config.json records: those of
 * model.safetensors, or those of model.safetensors.pending when saveModel
 * stopped before renaming it. Throws DdnError naming model.safetensors when
 * neither matches.
 */
async function readMatchingWeights(dir: string, file: ModelFile): Promise<{ bytes: Buffer; path: string }> {
  const { bytes: expectedBytes, sha256 } = file.weights;
  const matches = (bytes: Buffer) => bytes.length === expectedBytes && sha256Hex(bytes) === sha256;
  const pendingPath = join(dir, PENDING_WEIGHTS_FILE);
  if (existsSync(pendingPath)) {
    const pending = await readFile(pendingPath);
    if (matches(pending)) return { bytes: pending, path: pendingPath };
  }
  const weightsPath = join(dir, WEIGHTS_FILE);
  if (!existsSync(weightsPath)) {
    throw new DdnError(`${dir}: weights file ${WEIGHTS_FILE} is missing`);
  }
  const bytes = await readFile(weightsPath);
  if (bytes.length !== expectedBytes) {
    throw new DdnError(
      `${weightsPath}: expected ${expectedBytes} bytes as recorded in ${CONFIG_FILE}, ` +
        `found ${bytes.length} (the file is truncated or was replaced)`,
    );
  }
  if (sha256Hex(bytes) !== sha256) {
    throw new DdnError(`${weightsPath}: checksum does not match ${CONFIG_FILE} (the file is damaged or was altered)`);
  }
  return { bytes, path: weightsPath };
}

/** Copies the tensors named `prefix + parameter name` into the parameters. */
export function assignRecord(
  params: ParamStore,
  tensors: Record<string, SafetensorsTensor>,
  source: string,
  prefix: string,
): void {
  const weights = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, tensor] of Object.entries(tensors)) {
    if (!name.startsWith(prefix)) continue;
    if (tensor.dtype !== 'F32') {
      throw new DdnError(`${source}: weight '${name}' has dtype ${tensor.dtype}, expected F32`);
    }
    weights.set(name.slice(prefix.length), { shape: tensor.shape, data: tensor.data as Float32Array });
  }
  params.assign(weights, source);
}

/** Copies host values into variables of the same shapes. */
export function assignVariables(variables: tf.Variable[], values: Float32Array[]): void {
  tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(values[i], v.shape))));
}
