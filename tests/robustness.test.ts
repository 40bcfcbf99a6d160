/**
 * Bad input through the command line, in process: every case gives one
 * line on stderr and exit 1. Also a non-finite loss during training, and
 * a flat tensor count over many training steps.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { initBackend } from '../src/backend/select.js';
import { ddn } from './helpers/ddn.js';
import { loadDataset } from '../src/data/load.js';
import { CHECKPOINT_FILE, readCheckpoint } from '../src/io/checkpoint.js';
import { CONFIG_FILE, WEIGHTS_FILE, saveModel } from '../src/io/modelDir.js';
import { makeConfig } from '../src/model/config.js';
import { DdnModel } from '../src/model/model.js';
import { TrainingRun } from '../src/train/run.js';

const TINY = ['--k', '4', '--levels', '3', '--channels', '8', '--batch', '8', '--backend', 'wasm'];
let root: string;


/** Returns the last stderr line, which carries the error. */
function errorLine(result: Captured): string {
  return result.stderr.trim().split('\n').at(-1) ?? '';
}

function expectOneLineError(result: Captured, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(errorLine(result)).toMatch(/^ddn: error: /);
  expect(errorLine(result)).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

async function png(path: string, height: number, width: number, channels: 1 | 3): Promise<void> {
  const pixels = Buffer.alloc(height * width * channels, 100);
  const pipeline = sharp(pixels, { raw: { width, height, channels } });
  if (channels === 1) pipeline.toColourspace('b-w');
  await pipeline.png().toFile(path);
}

/** Creates the folder `name` under root with the given files. */
async function folder(name: string, files: Record<string, (path: string) => Promise<void> | void>): Promise<string> {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, write] of Object.entries(files)) await write(join(dir, file));
  return dir;
}

/** Builds a gray 8×8 IDX image file of `count` images. */
function idxBytes(count: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(0x00000803, 0);
  header.writeUInt32BE(count, 4);
  header.writeUInt32BE(8, 8);
  header.writeUInt32BE(8, 12);
  return Buffer.concat([header, Buffer.alloc(count * 64, 7)]);
}

let modelDir: string;

/** Copies the saved model folder and damages the copy with `damage`. */
function damagedModel(name: string, damage: (dir: string) => void): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const file of [CONFIG_FILE, WEIGHTS_FILE]) writeFileSync(join(dir, file), readFileSync(join(modelDir, file)));
  damage(dir);
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ddn-robust-'));
  await initBackend('wasm');
  const model = new DdnModel(makeConfig({ imageSize: 8, k: 4, levels: 3, channels: 8 }), 1);
  modelDir = join(root, 'model');
  await saveModel(model, modelDir);
  model.dispose();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('bad training data', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    [
      'IDX with a wrong magic number',
      async () => {
        const path = join(root, 'magic-idx3-ubyte');
        const bytes = idxBytes(4);
        bytes[0] = 0x42;
        writeFileSync(path, bytes);
        return path;
      },
      /invalid IDX magic number/,
    ],
    [
      'truncated IDX',
      async () => {
        const path = join(root, 'short-idx3-ubyte');
        writeFileSync(path, idxBytes(4).subarray(0, 100));
        return path;
      },
      /truncated IDX data: dims \[4, 8, 8\]/,
    ],
    [
      'truncated gzip IDX',
      async () => {
        const { gzipSync } = await import('node:zlib');
        const path = join(root, 'short-idx3-ubyte.gz');
        const packed = gzipSync(idxBytes(4));
        writeFileSync(path, packed.subarray(0, packed.length - 8));
        return path;
      },
      /invalid gzip data/,
    ],
    [
      'corrupted PNG',
      () => folder('bad-png', { 'a.png': (p) => png(p, 8, 8, 1), 'b.png': (p) => writeFileSync(p, 'not a png at all') }),
      /b\.png: cannot read image/,
    ],
    [
      'truncated PNG',
      () =>
        folder('short-png', {
          'a.png': (p) => png(p, 8, 8, 1),
          'b.png': async (p) => {
            await png(p, 8, 8, 1);
            const bytes = readFileSync(p);
            writeFileSync(p, bytes.subarray(0, bytes.length >> 1));
          },
        }),
      /b\.png: cannot read image/,
    ],
    [
      'corrupted JPEG',
      () =>
        folder('bad-jpeg', {
          'a.jpg': async (p) => {
            await sharp(Buffer.alloc(8 * 8 * 3, 90), { raw: { width: 8, height: 8, channels: 3 } }).jpeg().toFile(p);
            const bytes = readFileSync(p);
            bytes.fill(0x00, 2, 40);
            writeFileSync(p, bytes);
          },
        }),
      /a\.jpg: cannot read image/,
    ],
    [
      'truncated JPEG',
      () =>
        folder('short-jpeg', {
          'a.jpg': async (p) => {
            await sharp(Buffer.alloc(16 * 16 * 3, 90), { raw: { width: 16, height: 16, channels: 3 } }).jpeg().toFile(p);
            const bytes = readFileSync(p);
            writeFileSync(p, bytes.subarray(0, bytes.length - 60));
          },
        }),
      /a\.jpg: cannot read image/,
    ],
    [
      'images of mixed sizes',
      () => folder('mixed-size', { 'a.png': (p) => png(p, 8, 8, 1), 'b.png': (p) => png(p, 16, 16, 1) }),
      /b\.png: image is 16x16 gray but a\.png is 8x8 gray/,
    ],
    [
      'images of mixed channels',
      () => folder('mixed-channels', { 'a.png': (p) => png(p, 8, 8, 1), 'b.png': (p) => png(p, 8, 8, 3) }),
      /b\.png: image is 8x8 RGB but a\.png is 8x8 gray/,
    ],
    [
      'images that are not square',
      () => folder('wide', { 'a.png': (p) => png(p, 8, 16, 1) }),
      /images are 8x16; expected square images/,
    ],
    [
      'images of a side that is not a power of two',
      () => folder('odd-side', { 'a.png': (p) => png(p, 12, 12, 1) }),
      /image side 12 is not a power of two/,
    ],
    ['an empty folder', () => folder('empty', {}), /contains no PNG or JPEG images/],
  ];
  it.each(cases)('%s gives one line and exit 1', async (_name, make, pattern) => {
    const data = await make();
    const out = join(root, `run-${Math.random().toString(36).slice(2)}`);
    expectOneLineError(await ddn('train', '--data', data, '--out', out, '--steps', '1', ...TINY), pattern);
  });
});

describe('bad model folders', () => {
  const edit = (dir: string, change: (file: Record<string, any>) => void) => {
    const file = JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8'));
    change(file);
    writeFileSync(join(dir, CONFIG_FILE), JSON.stringify(file));
  };
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['another format version', (dir) => edit(dir, (f) => (f.config.formatVersion = 2)), /format version 2 is not supported \(expected 1\)/],
    ['a missing weights file', (dir) => rmSync(join(dir, WEIGHTS_FILE)), /weights file model\.safetensors is missing/],
    [
      'a truncated weights file',
      (dir) => writeFileSync(join(dir, WEIGHTS_FILE), readFileSync(join(dir, WEIGHTS_FILE)).subarray(0, 64)),
      /expected \d+ bytes as recorded in config\.json, found 64 \(the file is truncated/,
    ],
    [
      'an altered weights file',
      (dir) => {
        const bytes = readFileSync(join(dir, WEIGHTS_FILE));
        bytes[bytes.length - 1]! ^= 0x10;
        writeFileSync(join(dir, WEIGHTS_FILE), bytes);
      },
      /checksum does not match config\.json/,
    ],
    [
      'shapes that differ from the config',
      (dir) => edit(dir, (f) => (f.config.scales[0].channels = 16)),
      /weight '.*' has shape \[.*\], expected \[/,
    ],
    ['a config that is not JSON', (dir) => writeFileSync(join(dir, CONFIG_FILE), '{'), /config\.json: invalid JSON/],
    ['a missing config', (dir) => rmSync(join(dir, CONFIG_FILE)), /is not a model folder: config\.json is missing/],
  ];
  it.each(cases)('%s gives one line and exit 1', async (name, damage, pattern) => {
    const dir = damagedModel(name.replace(/\W+/g, '-'), damage);
    expectOneLineError(await ddn('sample', '--model', dir, '--out', join(root, 'x.png'), '--backend', 'wasm'), pattern);
  });

  it('reconstruct rejects RGB for a gray model', async () => {
    const rgb = await folder('rgb', { 'a.png': (p) => png(p, 8, 8, 3) });
    const result = await ddn('reconstruct', '--model', modelDir, '--input', rgb, '--out', join(root, 'r.png'), '--backend', 'wasm');
    expectOneLineError(result, /images are 8×8×3, the model takes 8×8×1/);
  });
});

describe('output paths', () => {
  it('train rejects non-run folder with outputs', async () => {
    const dir = join(root, 'user-folder');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'samples.png'), 'my own picture');
    writeFileSync(join(dir, 'notes.txt'), 'my notes');
    const result = await ddn('train', '--data', 'mnist', '--out', dir, '--steps', '1', ...TINY);
    expectOneLineError(result, /is not a ddn run but contains samples\.png, which training would overwrite/);
    expect(readFileSync(join(dir, 'samples.png'), 'utf8')).toBe('my own picture');
    expect(existsSync(join(dir, 'config.json'))).toBe(false);
  });

  it('file in the way of output', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'not a folder');
    const result = await ddn('sample', '--model', modelDir, '--out', join(file, 'x.png'), '--backend', 'wasm');
    expectOneLineError(result, /^ddn: error: cannot (mkdir|open) '.*a-file.*': /);
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });
});

describe('nonsense numbers', () => {
  const cases: [string, string[], RegExp][] = [
    ['K below 2', ['--k', '1'], /invalid --k '1'/],
    ['levels below 1', ['--levels', '0'], /invalid --levels '0'/],
    ['batch 0', ['--batch', '0'], /invalid --batch '0'/],
    ['negative learning rate', ['--lr', '-0.01'], /invalid --lr '-0.01'/],
    ['negative chain dropout', ['--chain-dropout', '-0.1'], /invalid --chain-dropout '-0.1'/],
    ['negative snapshot minutes', ['--snapshot-minutes', '-1'], /invalid --snapshot-minutes '-1'/],
    ['negative keep', ['--keep', '-1'], /invalid --keep '-1'/],
    ['steps not a number', ['--steps', 'ten'], /invalid --steps 'ten'/],
    ['fractional steps', ['--steps', '1.5'], /invalid --steps '1.5'/],
    ['image size not a power of two', ['--image-size', '24'], /invalid image side 24 \(--image-size\); expected a power of two/],
  ];
  it.each(cases)('%s gives one line and exit 1', async (_name, args, pattern) => {
    const out = join(root, 'never');
    expectOneLineError(await ddn('train', '--data', 'mnist', '--out', out, ...args), pattern);
  });
});

describe('bad checkpoints', () => {
  it('resume without a checkpoint gives one line and exit 1', async () => {
    const result = await ddn('train', '--data', 'mnist', '--out', join(root, 'nothing'), '--resume', ...TINY);
    expectOneLineError(result, /no checkpoint to resume from: .*checkpoint\.safetensors not found/);
  });

  it('resume from a damaged checkpoint gives one line and exit 1', async () => {
    const dir = join(root, 'damaged-run');
    expect((await ddn('train', '--data', 'mnist', '--out', dir, '--steps', '1', ...TINY)).code).toBe(0);
    const bytes = readFileSync(join(dir, CHECKPOINT_FILE));
    bytes[bytes.length - 9]! ^= 0x04;
    writeFileSync(join(dir, CHECKPOINT_FILE), bytes);
    const result = await ddn('train', '--data', 'mnist', '--out', dir, '--steps', '2', '--resume', ...TINY);
    expectOneLineError(result, /checksum does not match its content/);
  });
});

describe('non-finite loss', () => {
  /** Makes step `badStep` + 1 see NaN weights. */
  function poisonAfter(badStep: number, onPoison: () => void = () => undefined) {
    const original = TrainingRun.prototype.trainOneStep;
    return vi.spyOn(TrainingRun.prototype, 'trainOneStep').mockImplementation(function (this: TrainingRun) {
      if (this.step === badStep) {
        onPoison();
        // The first layer's weights reach every level's loss.
        const first = this.model.params.list()[0]!;
        first.assign(tf.fill(first.shape, NaN));
      }
      return original.call(this);
    });
  }

  it('stops naming step and layer, and keeps the last checkpoint', async () => {
    const dir = join(root, 'nan-run');
    let before: Buffer | undefined;
    const spy = poisonAfter(3, () => {
      before = readFileSync(join(dir, CHECKPOINT_FILE));
    });
    try {
      const result = await ddn('train', '--data', 'mnist', '--out', dir, '--steps', '10', '--snapshot-minutes', '0.000001', ...TINY);
      expectOneLineError(
        result,
        /training stopped at step 4: loss of level \d+ \(layer \d+, both counted from 0\) is NaN; the checkpoint of step 3 in .* is kept/,
      );
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(join(dir, CHECKPOINT_FILE)).equals(before!)).toBe(true);
    const checkpoint = await readCheckpoint<{ step: number }>(dir);
    expect(checkpoint.state.step).toBe(3);
  });

  it('says so when no checkpoint was saved yet', async () => {
    const spy = poisonAfter(1);
    try {
      const result = await ddn('train', '--data', 'mnist', '--out', join(root, 'nan-early'), '--steps', '10', ...TINY);
      expectOneLineError(result, /training stopped at step 2: .* is NaN; no checkpoint was saved yet/);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('memory', () => {
  it('keeps the tensor count flat over 30 training steps and a checkpoint', async () => {
    const dataset = await loadDataset('mnist', { split: 'train', imageSize: 32, limit: 256 });
    const config = makeConfig({ imageSize: 32, k: 4, levels: 3, channels: 8 });
    const run = TrainingRun.create(config, dataset, { batchSize: 8, learningRate: 2e-3, seed: 0 });
    run.trainOneStep();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 30; i++) run.trainOneStep();
    await run.saveCheckpoint(join(root, 'memory-run'), 0, { keep: 1, loss: 1 });
    expect(run.splitCount).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    run.dispose();
  });
});
