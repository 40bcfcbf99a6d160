import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../backend/select.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { makeConfig } from '../model/config.js';
import { TrainingRun } from '../train/run.js';
import {
  BEST_CHECKPOINT_FILE,
  CHECKPOINT_FILE,
  keptCheckpointFile,
  readCheckpoint,
  removeStaleTemporaryFiles,
} from './checkpoint.js';
import { readSafetensors, writeSafetensors } from './safetensors.js';

const config = makeConfig({ imageSize: 8, k: 4, levels: 3, channels: 8 });
const options = { batchSize: 4, learningRate: 2e-3, seed: 3 };
let root: string;
let counter = 0;
let dataset: Dataset;

function freshDir(): string {
  return join(root, `dir${counter++}`);
}

/** Creates a run and trains it for `steps` steps on the random images. */
function trainedRun(steps: number): TrainingRun {
  const run = TrainingRun.create(config, dataset, options);
  for (let i = 0; i < steps; i++) run.trainOneStep();
  return run;
}

beforeAll(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'ddn-checkpoint-'));
  const images = new Float32Array(16 * 8 * 8);
  for (let i = 0; i < images.length; i++) images[i] = (i * 0.618) % 1;
  dataset = { name: 'random', images, count: 16, height: 8, width: 8, channels: 1 };
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('saveCheckpoint', () => {
  it('keeps the newest N step-named checkpoints', async () => {
    const dir = freshDir();
    const run = trainedRun(0);
    for (let step = 1; step <= 4; step++) {
      run.trainOneStep();
      const saved = await run.saveCheckpoint(dir, 0, { keep: 2 });
      expect(saved.keptPath).toBe(join(dir, keptCheckpointFile(step)));
    }
    run.dispose();
    const names = readdirSync(dir).sort();
    expect(names).toEqual([CHECKPOINT_FILE, keptCheckpointFile(3), keptCheckpointFile(4)].sort());
    const kept = await readCheckpoint<{ step: number }>(dir, keptCheckpointFile(3));
    expect(kept.state.step).toBe(3);
    const latest = await readCheckpoint<{ step: number }>(dir);
    expect(latest.state.step).toBe(4);
  });

  it('keeps no step-named copy with keep 0', async () => {
    const dir = freshDir();
    const run = trainedRun(1);
    const saved = await run.saveCheckpoint(dir, 0, { keep: 0 });
    run.dispose();
    expect(saved.keptPath).toBeUndefined();
    expect(readdirSync(dir)).toEqual([CHECKPOINT_FILE]);
  });

  it('keeps the checkpoint with the lowest loss as best', async () => {
    const dir = freshDir();
    const run = trainedRun(0);
    const bestFlags: boolean[] = [];
    for (const loss of [0.5, 0.3, 0.4]) {
      run.trainOneStep();
      bestFlags.push((await run.saveCheckpoint(dir, 0, { loss })).best);
    }
    run.dispose();
    expect(bestFlags).toEqual([true, true, false]);
    const best = await readCheckpoint<{ step: number }>(dir, BEST_CHECKPOINT_FILE);
    expect(best.state.step).toBe(2);
  });

  it('rejects NaN weights, keeping the previous file', async () => {
    const dir = freshDir();
    const run = trainedRun(1);
    await run.saveCheckpoint(dir, 0);
    const before = readFileSync(join(dir, CHECKPOINT_FILE));
    const weight = run.model.params.list()[0]!;
    weight.assign(tf.fill(weight.shape, NaN));
    await expect(run.saveCheckpoint(dir, 0)).rejects.toThrow(DdnError);
    await expect(run.saveCheckpoint(dir, 0)).rejects.toThrow(/cannot save the checkpoint of step 1: .* contains NaN/);
    run.dispose();
    expect(readFileSync(join(dir, CHECKPOINT_FILE)).equals(before)).toBe(true);
  });
});

describe('readCheckpoint', () => {
  it('rejects a flipped tensor byte by checksum', async () => {
    const dir = freshDir();
    const run = trainedRun(1);
    await run.saveCheckpoint(dir, 0);
    run.dispose();
    const bytes = readFileSync(join(dir, CHECKPOINT_FILE));
    bytes[bytes.length - 5]! ^= 0x01;
    writeFileSync(join(dir, CHECKPOINT_FILE), bytes);
    await expect(readCheckpoint(dir)).rejects.toThrow(/checksum does not match its content/);
  });

  it('rejects a truncated file', async () => {
    const dir = freshDir();
    const run = trainedRun(1);
    await run.saveCheckpoint(dir, 0);
    run.dispose();
    const bytes = readFileSync(join(dir, CHECKPOINT_FILE));
    writeFileSync(join(dir, CHECKPOINT_FILE), bytes.subarray(0, bytes.length - 100));
    await expect(readCheckpoint(dir)).rejects.toThrow(DdnError);
  });

  it('names the missing file', async () => {
    await expect(readCheckpoint(freshDir())).rejects.toThrow(/no checkpoint to resume from: .* not found/);
  });
});

describe('removeStaleTemporaryFiles', () => {
  it('removes files of dead processes only', async () => {
    const dir = freshDir();
    const run = trainedRun(0);
    await run.saveCheckpoint(dir, 0);
    run.dispose();
    // 2^22 + 1 is above Linux's largest process id.
    const dead = `.${CHECKPOINT_FILE}.4194305.0123456789ab.tmp`;
    const alive = `.${CHECKPOINT_FILE}.${process.pid}.0123456789ab.tmp`;
    writeFileSync(join(dir, dead), 'partial');
    writeFileSync(join(dir, alive), 'partial');
    expect(await removeStaleTemporaryFiles(dir)).toEqual([dead]);
    expect(existsSync(join(dir, alive))).toBe(true);
    expect(existsSync(join(dir, CHECKPOINT_FILE))).toBe(true);
  });
});

describe('TrainingRun.resume under random input', () => {
  let dir: string;
  let valid: Buffer;

  beforeAll(async () => {
    dir = freshDir();
    const run = trainedRun(2);
    await run.saveCheckpoint(dir, 0);
    run.dispose();
    valid = readFileSync(join(dir, CHECKPOINT_FILE));
  });

  /** Resumes from `bytes` and rethrows anything that is not a DdnError. */
  async function resumeFrom(bytes: Uint8Array): Promise<void> {
    writeFileSync(join(dir, CHECKPOINT_FILE), bytes);
    try {
      const run = await TrainingRun.resume(dir, dataset);
      run.dispose();
    } catch (error) {
      if (!(error instanceof DdnError)) throw error;
    }
  }

  it('throws only DdnError for mutated and truncated files', async () => {
    const headerEnd = 8 + Number(valid.readBigUInt64LE(0));
    const mutation = fc.record({
      // Half the edits land in the length and JSON header.
      edits: fc.array(
        fc.tuple(fc.oneof(fc.nat(headerEnd - 1), fc.nat(valid.length - 1)), fc.integer({ min: 0, max: 255 })),
        { maxLength: 4 },
      ),
      cut: fc.oneof(fc.constant(valid.length), fc.nat(valid.length)),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ edits, cut }) => {
        const bytes = Buffer.from(valid);
        for (const [index, value] of edits) bytes[index] = value;
        await resumeFrom(bytes.subarray(0, cut));
      }),
      { numRuns: 120 },
    );
  });

  it('throws only DdnError for any JSON as the training state', async () => {
    // Without a checksum, as older checkpoints were written, so the state
    // reaches validation.
    const { tensors, metadata } = readSafetensors(valid);
    const state = JSON.parse(metadata.state!) as Record<string, unknown>;
    const fields = Object.keys(state);
    const anyState = fc.oneof(
      fc.jsonValue(),
      fc.tuple(fc.constantFrom(...fields), fc.jsonValue()).map(([field, value]) => ({ ...state, [field]: value })),
    );
    await fc.assert(
      fc.asyncProperty(anyState, async (value) => {
        const changed = { format: 'ddn-checkpoint', config: metadata.config!, state: JSON.stringify(value) };
        await resumeFrom(writeSafetensors(tensors, changed));
      }),
      { numRuns: 150 },
    );
  });

  it('keeps the tensor count after failed resumes', async () => {
    const before = tf.memory().numTensors;
    const bytes = Buffer.from(valid);
    bytes[bytes.length - 1]! ^= 0xff;
    await resumeFrom(bytes);
    await resumeFrom(bytes.subarray(0, 40));
    expect(tf.memory().numTensors).toBe(before);
  });
});
