/**
 * A training checkpoint: one safetensors file with the weights, the Adam
 * moments and, in its metadata, the JSON training state (step, RNG state,
 * Split-and-Prune counters, options). One file written atomically, so a
 * crash at any moment leaves either the previous checkpoint or the new one.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { DdnError } from '../errors.js';
import type { DdnModel } from '../model/model.js';
import type { Adam } from '../train/adam.js';
import { writeFileAtomic } from './atomic.js';
import { assignRecord, assignVariables, paramsToRecord } from './modelDir.js';
import { type SafetensorsTensor, readSafetensors, writeSafetensors } from './safetensors.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';

const FIRST = 'adam.m.';
const SECOND = 'adam.v.';

export interface CheckpointOptions {
  /** Extra copy of the checkpoint under this file name (kept checkpoints). */
  alsoAs?: string;
}

/** Writes the checkpoint of a run; `state` must be plain JSON. */
export async function saveCheckpoint(
  dir: string,
  model: DdnModel,
  optimizer: Adam,
  state: object,
  options: CheckpointOptions = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tensors: Record<string, SafetensorsTensor> = paramsToRecord(model.params);
  model.params.names().forEach((name, i) => {
    tensors[FIRST + name] = momentRecord(optimizer.firstMoments[i].dataSync() as Float32Array, optimizer.firstMoments[i].shape);
    tensors[SECOND + name] = momentRecord(optimizer.secondMoments[i].dataSync() as Float32Array, optimizer.secondMoments[i].shape);
  });
  const metadata = {
    format: 'ddn-checkpoint',
    config: JSON.stringify(model.config),
    state: JSON.stringify({ ...state, adamStep: optimizer.step }),
  };
  const path = join(dir, CHECKPOINT_FILE);
  const bytes = writeSafetensors(tensors, metadata);
  await writeFileAtomic(path, bytes);
  if (options.alsoAs !== undefined) await writeFileAtomic(join(dir, options.alsoAs), bytes);
  return path;
}

function momentRecord(data: Float32Array, shape: number[]): SafetensorsTensor {
  return { dtype: 'F32', shape, data };
}

export interface LoadedCheckpoint<State> {
  /** The config the checkpoint was made with, as JSON. */
  configJson: string;
  state: State & { adamStep: number };
  /** Copies weights and moments into a model and optimizer of that config. */
  restore(model: DdnModel, optimizer: Adam): void;
}

export async function readCheckpoint<State>(dir: string): Promise<LoadedCheckpoint<State>> {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) {
    throw new DdnError(`no checkpoint to resume from: ${path} not found`);
  }
  const { tensors, metadata } = readSafetensors(await readFile(path), path);
  if (metadata.format !== 'ddn-checkpoint' || metadata.state === undefined || metadata.config === undefined) {
    throw new DdnError(`${path}: not a DDN checkpoint (training state missing)`);
  }
  let state: State & { adamStep: number };
  try {
    state = JSON.parse(metadata.state) as State & { adamStep: number };
  } catch {
    throw new DdnError(`${path}: the training state is not valid JSON`);
  }
  return {
    configJson: metadata.config,
    state,
    restore(model: DdnModel, optimizer: Adam): void {
      assignRecord(model.params, withoutPrefixes(tensors, [FIRST, SECOND]), path, '');
      const names = model.params.names();
      const moments = (prefix: string) =>
        names.map((name) => {
          const t = tensors[prefix + name];
          if (t === undefined) throw new DdnError(`${path}: optimizer moment '${prefix + name}' is missing`);
          return t.data as Float32Array;
        });
      assignVariables(optimizer.firstMoments, moments(FIRST));
      assignVariables(optimizer.secondMoments, moments(SECOND));
      optimizer.step = state.adamStep;
    },
  };
}

function withoutPrefixes(
  tensors: Record<string, SafetensorsTensor>,
  prefixes: string[],
): Record<string, SafetensorsTensor> {
  return Object.fromEntries(Object.entries(tensors).filter(([name]) => !prefixes.some((p) => name.startsWith(p))));
}
