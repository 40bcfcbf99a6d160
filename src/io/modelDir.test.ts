import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../backend/select.js';
import { DdnError } from '../errors.js';
import { makeConfig, validateConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import { CONFIG_FILE, PENDING_WEIGHTS_FILE, WEIGHTS_FILE, loadModel, readModelFile, saveModel } from './modelDir.js';

const config = makeConfig({ imageSize: 8, k: 4, levels: 3, channels: 8 });
let root: string;
let counter = 0;

function freshDir(): string {
  return join(root, `dir${counter++}`);
}

/** Runs `action` and rethrows anything that is not a DdnError. */
async function expectOnlyDdnError(action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (!(error instanceof DdnError)) throw error;
  }
}

/** Returns the first parameter's values, which tell two models apart. */
function firstWeights(model: DdnModel): number[] {
  return Array.from(model.params.list()[0]!.dataSync()).slice(0, 8);
}

beforeAll(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'ddn-modeldir-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('saveModel and loadModel', () => {
  it('leaves no pending weights file after a save', async () => {
    const model = new DdnModel(config, 1);
    const dir = freshDir();
    await saveModel(model, dir);
    const { model: loaded } = await loadModel(dir);
    expect(firstWeights(loaded)).toEqual(firstWeights(model));
    expect(() => readFileSync(join(dir, PENDING_WEIGHTS_FILE))).toThrow(/ENOENT/);
    loaded.dispose();
    model.dispose();
  });

  it('loads the pending weights when a save stopped before the rename', async () => {
    const [oldModel, newModel] = [new DdnModel(config, 1), new DdnModel(config, 2)];
    const dir = freshDir();
    const newer = freshDir();
    await saveModel(oldModel, dir);
    await saveModel(newModel, newer);

    // State after steps 1 and 2 of saveModel: new config, old weights, new pending.
    copyFileSync(join(newer, WEIGHTS_FILE), join(dir, PENDING_WEIGHTS_FILE));
    copyFileSync(join(newer, CONFIG_FILE), join(dir, CONFIG_FILE));
    const { model } = await loadModel(dir);
    expect(firstWeights(model)).toEqual(firstWeights(newModel));
    model.dispose();
    oldModel.dispose();
    newModel.dispose();
  });

  it('ignores a pending file that config.json does not describe', async () => {
    const [oldModel, newModel] = [new DdnModel(config, 1), new DdnModel(config, 2)];
    const dir = freshDir();
    const newer = freshDir();
    await saveModel(oldModel, dir);
    await saveModel(newModel, newer);

    // State after step 1 only: old config, old weights, new pending.
    copyFileSync(join(newer, WEIGHTS_FILE), join(dir, PENDING_WEIGHTS_FILE));
    const { model } = await loadModel(dir);
    expect(firstWeights(model)).toEqual(firstWeights(oldModel));
    model.dispose();
    oldModel.dispose();
    newModel.dispose();
  });

  const damages: [string, (dir: string) => void, RegExp][] = [
    ['missing weights', (dir) => rmSync(join(dir, WEIGHTS_FILE)), /weights file model\.safetensors is missing/],
    [
      'truncated weights',
      (dir) => writeFileSync(join(dir, WEIGHTS_FILE), readFileSync(join(dir, WEIGHTS_FILE)).subarray(0, 100)),
      /expected \d+ bytes .* found 100 \(the file is truncated/,
    ],
    [
      'altered weights',
      (dir) => {
        const bytes = readFileSync(join(dir, WEIGHTS_FILE));
        bytes[bytes.length - 3]! ^= 0x40;
        writeFileSync(join(dir, WEIGHTS_FILE), bytes);
      },
      /checksum does not match config\.json/,
    ],
    [
      'another format version',
      (dir) => editConfig(dir, (file) => ({ ...file, config: { ...file.config, formatVersion: 99 } })),
      /model format version 99 is not supported \(expected 1\)/,
    ],
    [
      'altered shapes in config',
      (dir) =>
        editConfig(dir, (file) => ({
          ...file,
          config: { ...file.config, scales: file.config.scales.map((s: object) => ({ ...s, k: 8 })) },
        })),
      /has shape \[.*\], expected \[/,
    ],
    [
      'config that is not JSON',
      (dir) => writeFileSync(join(dir, CONFIG_FILE), '{"format": "ddn-model", '),
      /config\.json: invalid JSON/,
    ],
    [
      'config without a checksum',
      (dir) => editConfig(dir, (file) => ({ ...file, weights: { file: WEIGHTS_FILE, bytes: 10 } })),
      /invalid "weights" entry/,
    ],
  ];
  it.each(damages)('rejects %s', async (_name, damage, message) => {
    const model = new DdnModel(config, 1);
    const dir = freshDir();
    await saveModel(model, dir);
    model.dispose();
    damage(dir);
    await expect(loadModel(dir)).rejects.toThrow(DdnError);
    await expect(loadModel(dir)).rejects.toThrow(message);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function editConfig(dir: string, edit: (file: any) => unknown): void {
  const path = join(dir, CONFIG_FILE);
  writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, 'utf8')))));
}

describe('config.json parsing under random input', () => {
  let validText: string;
  let dir: string;

  beforeAll(async () => {
    dir = freshDir();
    const model = new DdnModel(config, 1);
    await saveModel(model, dir);
    model.dispose();
    validText = readFileSync(join(dir, CONFIG_FILE), 'utf8');
  });

  it('throws only DdnError for random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        writeFileSync(join(dir, CONFIG_FILE), bytes);
        await expectOnlyDdnError(() => readModelFile(dir));
      }),
      { numRuns: 150 },
    );
  });

  it('throws only DdnError for mutated and truncated text', async () => {
    const valid = Buffer.from(validText);
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.nat(valid.length),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ edits, cut }) => {
        const bytes = Buffer.from(valid);
        for (const [index, value] of edits) bytes[index] = value;
        writeFileSync(join(dir, CONFIG_FILE), bytes.subarray(0, cut));
        await expectOnlyDdnError(() => readModelFile(dir));
      }),
      { numRuns: 150 },
    );
  });

  it('throws only DdnError when a config field holds any JSON value', () => {
    const valid = JSON.parse(validText).config as Record<string, unknown>;
    const fields = Object.keys(valid);
    fc.assert(
      fc.property(fc.constantFrom(...fields), fc.jsonValue(), (field, value) => {
        try {
          validateConfig({ ...valid, [field]: value }, 'config.json');
        } catch (error) {
          if (!(error instanceof DdnError)) throw error;
        }
      }),
      { numRuns: 400 },
    );
  });

  it('throws only DdnError when a scale field holds any JSON value', () => {
    const valid = JSON.parse(validText).config as { scales: Record<string, unknown>[] };
    fc.assert(
      fc.property(
        fc.nat(valid.scales.length - 1),
        fc.constantFrom('size', 'channels', 'blocks', 'k'),
        fc.jsonValue(),
        (index, field, value) => {
          const scales = valid.scales.map((s, i) => (i === index ? { ...s, [field]: value } : s));
          try {
            validateConfig({ ...valid, scales }, 'config.json');
          } catch (error) {
            if (!(error instanceof DdnError)) throw error;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('throws only DdnError for any JSON value as the config', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          validateConfig(value, 'config.json');
        } catch (error) {
          if (!(error instanceof DdnError)) throw error;
        }
      }),
      { numRuns: 300 },
    );
  });
});
