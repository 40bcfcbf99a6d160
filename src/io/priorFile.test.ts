import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { makeConfig } from '../model/config.js';
import { emptyNodeCounts } from '../sampling/nodeCounts.js';
import type { ModelFile } from './modelDir.js';
import { PRIOR_FILE, checkPriorMatchesModel, priorCounts, readPriorFile, writePriorFile } from './priorFile.js';

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function modelFile(sha256: string, steps?: number): ModelFile {
  return {
    format: 'ddn-model',
    config: makeConfig({ imageSize: 8, k: 4, levels: 2, channels: 8, condition: 'class', classCount: 2 }),
    parameters: 1,
    weights: { file: 'model.safetensors', bytes: 1, sha256 },
    training: steps === undefined ? undefined : { data: 'mnist', steps },
  };
}

/** Counts for the two classes of `modelFile`: node 1 once at every level, and node 3 five times at level 1 of row 1. */
function counts() {
  const c = emptyNodeCounts([4, 4], 2);
  for (const row of [0, 1]) for (const level of [0, 1]) c.counts[row][level][1] = 1;
  c.counts[1][1][3] = 5;
  c.images = [1, 6];
  return c;
}

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ddn-prior-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('prior file', () => {
  it('reads back what it wrote, with the step and weights', async () => {
    const path = await writePriorFile(dir, modelFile(SHA_A, 120), counts(), 'mnist');
    expect(path).toBe(join(dir, PRIOR_FILE));
    // The atomic write leaves no temporary file behind.
    expect(readdirSync(dir)).toEqual([PRIOR_FILE]);
    const file = await readPriorFile(dir);
    expect(file?.step).toBe(120);
    expect(file?.weightsSha256).toBe(SHA_A);
    expect(file?.condition).toBe('class');
    expect(file?.data).toBe('mnist');
    expect(priorCounts(file!)).toEqual(counts());
  });

  it('is null when the folder has none', async () => {
    expect(await readPriorFile(dir)).toBeNull();
  });

  it('accepts the model it was measured on', async () => {
    await writePriorFile(dir, modelFile(SHA_A, 120), counts(), 'mnist');
    const file = (await readPriorFile(dir))!;
    expect(() => checkPriorMatchesModel(file, modelFile(SHA_A, 120), [4, 4], dir)).not.toThrow();
  });

  it('rejects stale counts, naming both steps', async () => {
    await writePriorFile(dir, modelFile(SHA_A, 120), counts(), 'mnist');
    const file = (await readPriorFile(dir))!;
    const check = () => checkPriorMatchesModel(file, modelFile(SHA_B, 300), [4, 4], dir);
    expect(check).toThrow(DdnError);
    expect(check).toThrow(`${join(dir, PRIOR_FILE)} is stale: it was measured on step 120 (weights aaaaaaaaaaaa…), but the model is at step 300 (weights bbbbbbbbbbbb…); run 'ddn prior --model ${dir}' again, or pass --prior uniform`);
  });

  it('says unknown step when config.json records none', async () => {
    await writePriorFile(dir, modelFile(SHA_A), counts(), 'mnist');
    const file = (await readPriorFile(dir))!;
    expect(file.step).toBeNull();
    expect(() => checkPriorMatchesModel(file, modelFile(SHA_B), [4, 4], dir)).toThrow(/measured on an unknown step/);
  });

  it('rejects other K per level', async () => {
    await writePriorFile(dir, modelFile(SHA_A, 1), counts(), 'mnist');
    const file = (await readPriorFile(dir))!;
    expect(() => checkPriorMatchesModel(file, modelFile(SHA_A, 1), [4, 8], dir)).toThrow(/K per level \[4, 4\], but the model has \[4, 8\]/);
  });

  const broken: [string, (file: Record<string, unknown>) => unknown, RegExp][] = [
    ['another format', (f) => ({ ...f, format: 'ddn-model' }), /expected "format": "ddn-node-prior"/],
    ['a negative count', (f) => ({ ...f, counts: [[[-1, 1, 0, 0], [0, 1, 0, 0]], [[0, 1, 0, 0], [0, 1, 0, 5]]] }), /row 0, level 0 is not 4 non-negative integer counts/],
    ['a level without counts', (f) => ({ ...f, counts: [[[0, 0, 0, 0], [0, 1, 0, 0]], [[0, 1, 0, 0], [0, 1, 0, 5]]] }), /row 0, level 0 has no counts/],
    ['a missing level', (f) => ({ ...f, counts: [[[0, 1, 0, 0]], [[0, 1, 0, 0], [0, 1, 0, 5]]] }), /row 0 does not have 2 levels/],
    ['a bad checksum', (f) => ({ ...f, weightsSha256: 'xyz' }), /"weightsSha256" is not a SHA-256/],
  ];
  it.each(broken)('rejects %s', async (_name, edit, pattern) => {
    await writePriorFile(dir, modelFile(SHA_A, 1), counts(), 'mnist');
    const path = join(dir, PRIOR_FILE);
    writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, 'utf8')))));
    await expect(readPriorFile(dir)).rejects.toThrow(pattern);
  });

  it('rejects a file that is not JSON', async () => {
    writeFileSync(join(dir, PRIOR_FILE), '{"format": ');
    await expect(readPriorFile(dir)).rejects.toThrow(/node-prior\.json: invalid JSON/);
  });
});
