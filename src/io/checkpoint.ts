/**
 * A training checkpoint: one safetensors file with the weights, the Adam
 * moments and, in its metadata, the JSON training state (step, RNG state,
 * Split-and-Prune counters, options) and a SHA-256 over config, state and
 * tensor bytes.
 *
 * The latest checkpoint is `checkpoint.safetensors`, written atomically, so
 * a crash at any moment leaves either the previous checkpoint or the new
 * one. Older checkpoints can be kept as `checkpoint-<step>.safetensors`,
 * and the one with the lowest loss as `checkpoint-best.safetensors`. These
 * copies are hard links where the file system allows, so they cost no
 * space until the latest checkpoint moves on.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

import { DdnError } from '../errors.js';
import type { DdnModel } from '../model/model.js';
import type { Adam } from '../train/adam.js';
import { writeFileAtomic } from './atomic.js';
import { assignRecord, assignVariables, paramsToRecord } from './modelDir.js';
import { type SafetensorsTensor, readSafetensors, writeSafetensors } from './safetensors.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
export const BEST_CHECKPOINT_FILE = 'checkpoint-best.safetensors';

const KEPT_PATTERN = /^checkpoint-(\d+)\.safetensors$/;
const FIRST = 'adam.m.';
const SECOND = 'adam.v.';

/** File name of the kept checkpoint of `step`, e.g. checkpoint-000120.safetensors. */
export function keptCheckpointFile(step: number): string {
  return `checkpoint-${String(step).padStart(6, '0')}.safetensors`;
}

export interface CheckpointOptions {
  /** Number of step-named checkpoints to keep (the newest); 0 keeps none. */
  keep?: number;
  /**
   * Loss that ranks this checkpoint; when it is below the loss of
   * checkpoint-best.safetensors (or that file is missing), this checkpoint
   * becomes the best one.
   */
  loss?: number;
}

/** Paths of a saved checkpoint and its copies. */
export interface SavedCheckpoint {
  /** The latest checkpoint, checkpoint.safetensors. */
  path: string;
  /** The step-named copy, when `keep` > 0. */
  keptPath?: string;
  /** Whether this checkpoint replaced checkpoint-best.safetensors. */
  best: boolean;
}

/**
 * Writes the checkpoint of a run; `state` must be plain JSON with the step.
 * Throws DdnError, before writing anything, when a weight or moment is NaN
 * or infinite, so the previous checkpoint stays the latest one.
 */
export async function saveCheckpoint(
  dir: string,
  model: DdnModel,
  optimizer: Adam,
  state: { step: number },
  options: CheckpointOptions = {},
): Promise<SavedCheckpoint> {
  // Host copies of the weights and both Adam moments.
  const tensors: Record<string, SafetensorsTensor> = paramsToRecord(model.params);
  model.params.names().forEach((name, i) => {
    tensors[FIRST + name] = momentRecord(optimizer.firstMoments[i]!);
    tensors[SECOND + name] = momentRecord(optimizer.secondMoments[i]!);
  });
  for (const [name, tensor] of Object.entries(tensors)) {
    const bad = (tensor.data as Float32Array).findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      throw new DdnError(
        `cannot save the checkpoint of step ${state.step}: '${name}' contains ` +
          `${tensor.data[bad]} at index ${bad}; the previous checkpoint in ${dir} is kept`,
      );
    }
  }

  // One file: the tensors, then the config, state and checksum as metadata.
  const metadata: Record<string, string> = {
    format: 'ddn-checkpoint',
    config: JSON.stringify(model.config),
    state: JSON.stringify({ ...state, adamStep: optimizer.step }),
  };
  if (options.loss !== undefined) metadata.loss = String(options.loss);
  const bytes = withChecksum(tensors, metadata);

  // The latest checkpoint first, so that a crash during the copies below
  // still leaves it complete.
  await mkdir(dir, { recursive: true });
  const path = join(dir, CHECKPOINT_FILE);
  await writeFileAtomic(path, bytes);
  const saved: SavedCheckpoint = { path, best: false };
  const keep = options.keep ?? 0;
  if (keep > 0) {
    saved.keptPath = join(dir, keptCheckpointFile(state.step));
    await copyAtomic(path, saved.keptPath, bytes);
    await pruneKeptCheckpoints(dir, keep);
  }
  const loss = options.loss;
  if (loss !== undefined && Number.isFinite(loss)) {
    const bestPath = join(dir, BEST_CHECKPOINT_FILE);
    const bestLoss = await readCheckpointLoss(bestPath);
    if (bestLoss === undefined || loss < bestLoss) {
      await copyAtomic(path, bestPath, bytes);
      saved.best = true;
    }
  }
  return saved;
}

function momentRecord(moment: { shape: number[]; dataSync(): unknown }): SafetensorsTensor {
  return { dtype: 'F32', shape: moment.shape, data: moment.dataSync() as Float32Array };
}

/**
 * Serializes the tensors with `metadata.sha256` set to the checksum of the
 * config, the state and the data section (see contentChecksum).
 */
function withChecksum(
  tensors: Record<string, SafetensorsTensor>,
  metadata: Record<string, string>,
): Buffer {
  // The data section does not depend on the metadata, so hash it from a
  // first serialization and then write the final header.
  const draft = writeSafetensors(tensors, { ...metadata, sha256: '' });
  metadata.sha256 = contentChecksum(metadata, dataSection(draft));
  return writeSafetensors(tensors, metadata);
}

/** SHA-256 of the config JSON, the state JSON and the tensor bytes, NUL-separated. */
function contentChecksum(metadata: Record<string, string>, data: Uint8Array): string {
  return createHash('sha256')
    .update(metadata.config ?? '')
    .update('\0')
    .update(metadata.state ?? '')
    .update('\0')
    .update(data)
    .digest('hex');
}

/** The bytes after the header; `bytes` must be a valid safetensors buffer. */
function dataSection(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  return bytes.subarray(8 + Number(view.getBigUint64(0, true)));
}

/**
 * Puts a copy of `source` (whose content is `bytes`) at `target`
 * atomically: a hard link under a temporary name renamed into place, or,
 * where hard links are not supported, an atomic write of `bytes`.
 */
async function copyAtomic(source: string, target: string, bytes: Uint8Array): Promise<void> {
  const temporaryPath = join(
    dirname(target),
    `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await link(source, temporaryPath);
  } catch {
    await writeFileAtomic(target, bytes);
    return;
  }
  try {
    await rename(temporaryPath, target);
  } catch (error) {
    await unlink(temporaryPath).catch(() => undefined);
    throw error;
  }
}

/** Deletes all but the `keep` newest step-named checkpoints. */
async function pruneKeptCheckpoints(dir: string, keep: number): Promise<void> {
  const steps = (await readdir(dir))
    .map((name) => KEPT_PATTERN.exec(name))
    .filter((match) => match !== null)
    .map((match) => ({ name: match[0], step: Number(match[1]) }))
    .sort((a, b) => b.step - a.step);
  for (const { name } of steps.slice(keep)) {
    await unlink(join(dir, name)).catch(() => undefined);
  }
}

/**
 * Deletes the temporary files (`.<name>.<pid>.<random>.tmp`) that atomic
 * writes into `dir` left behind when their process was killed. Files of
 * processes that are still running are left alone.
 */
export async function removeStaleTemporaryFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const match = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
    if (match === null || isProcessRunning(Number(match[1]))) continue;
    await unlink(join(dir, name)).then(
      () => removed.push(name),
      () => undefined,
    );
  }
  return removed;
}

function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads the loss stored in a checkpoint's metadata, reading only the
 * header. Returns undefined when the file is missing, has no loss, or is
 * not a readable safetensors file.
 */
async function readCheckpointLoss(path: string): Promise<number | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const headerLength = Number(lengthBytes.readBigUInt64LE(0));
    if (headerLength > 100_000_000) return undefined;
    const header = Buffer.alloc(headerLength);
    const { bytesRead } = await handle.read(header, 0, headerLength, 8);
    const parsed = JSON.parse(header.subarray(0, bytesRead).toString('utf8')) as {
      __metadata__?: { loss?: string };
    };
    const loss = Number(parsed.__metadata__?.loss);
    return Number.isFinite(loss) ? loss : undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

export interface LoadedCheckpoint<State> {
  /** The file the checkpoint was read from. */
  path: string;
  /** The config the checkpoint was made with, as JSON. */
  configJson: string;
  /** The training state as stored; the caller validates its fields. */
  state: State & { adamStep: number };
  /** Copies weights and moments into a model and optimizer of that config. */
  restore(model: DdnModel, optimizer: Adam): void;
}

/**
 * Reads `file` (by default the latest checkpoint) from `dir`, checking the
 * format and the checksum. Throws DdnError for a missing, truncated or
 * altered file. A checkpoint without a checksum (older versions of this
 * program wrote none) is read unchecked.
 */
export async function readCheckpoint<State>(
  dir: string,
  file = CHECKPOINT_FILE,
): Promise<LoadedCheckpoint<State>> {
  const path = join(dir, file);
  if (!existsSync(path)) {
    throw new DdnError(`no checkpoint to resume from: ${path} not found`);
  }
  const bytes = await readFile(path);
  const { tensors, metadata } = readSafetensors(bytes, path);
  if (metadata.format !== 'ddn-checkpoint' || metadata.state === undefined || metadata.config === undefined) {
    throw new DdnError(`${path}: not a DDN checkpoint (training state missing)`);
  }
  if (metadata.sha256 !== undefined && contentChecksum(metadata, dataSection(bytes)) !== metadata.sha256) {
    throw new DdnError(
      `${path}: checksum does not match its content (the file is damaged or was altered); ` +
        'copy a kept checkpoint-<step>.safetensors over it to resume from there',
    );
  }
  let state: State & { adamStep: number };
  try {
    state = JSON.parse(metadata.state) as State & { adamStep: number };
  } catch {
    throw new DdnError(`${path}: the training state is not valid JSON`);
  }
  if (typeof state !== 'object' || state === null) {
    throw new DdnError(`${path}: the training state is not a JSON object`);
  }
  return {
    path,
    configJson: metadata.config,
    state,
    restore(model: DdnModel, optimizer: Adam): void {
      assignRecord(model.params, withoutPrefixes(tensors, [FIRST, SECOND]), path, '');
      const moments = (prefix: string, variables: Adam['firstMoments']) =>
        model.params.names().map((name, i) => {
          const tensor = tensors[prefix + name];
          if (tensor === undefined) {
            throw new DdnError(`${path}: optimizer moment '${prefix + name}' is missing`);
          }
          const expected = variables[i]!.shape;
          if (tensor.dtype !== 'F32' || tensor.shape.join(',') !== expected.join(',')) {
            throw new DdnError(
              `${path}: optimizer moment '${prefix + name}' is ${tensor.dtype} ` +
                `[${tensor.shape}], expected F32 [${expected}]`,
            );
          }
          return tensor.data as Float32Array;
        });
      assignVariables(optimizer.firstMoments, moments(FIRST, optimizer.firstMoments));
      assignVariables(optimizer.secondMoments, moments(SECOND, optimizer.secondMoments));
      if (!Number.isInteger(state.adamStep) || state.adamStep < 0) {
        throw new DdnError(`${path}: invalid Adam step ${String(state.adamStep)} in the training state`);
      }
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
