/**
 * Latent files, progressive decoding, the latent tree and the tree picture
 * end to end on tiny untrained models saved to disk: one recurrence model
 * (K = 8, L = 3) and one pyramid whose levels have different K.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../src/backend/select.js';
import { ddn } from './helpers/ddn.js';
import { loadDataset } from '../src/data/load.js';
import { loadModel, saveModel } from '../src/io/modelDir.js';
import { readLatentFile } from '../src/latent/format.js';
import { decodeTreeNodes } from '../src/latent/modelLatents.js';
import { levelKs, makeConfig } from '../src/model/config.js';
import { DdnModel } from '../src/model/model.js';

let root: string;
let recurrenceDir: string;
let pyramidDir: string;
let otherDir: string;


async function mnistTest(n: number, imageSize: number): Promise<Float32Array> {
  return (await loadDataset('mnist', { split: 'test', imageSize, limit: n })).images;
}

beforeAll(async () => {
  await initBackend('cpu');
  root = mkdtempSync(join(tmpdir(), 'ddn-latent-'));
  recurrenceDir = join(root, 'recurrence');
  pyramidDir = join(root, 'pyramid');
  otherDir = join(root, 'other');

  const recurrence = makeConfig({ paradigm: 'recurrence', imageSize: 8, k: 8, levels: 3, channels: 4 });
  // A pyramid 1×1 … 8×8 whose levels have K = 3, 5, 8, 8.
  const pyramid = makeConfig({ paradigm: 'single-shot', imageSize: 8, k: 8, levels: 4, channels: 8 });
  pyramid.scales = pyramid.scales.map((scale, s) => ({ ...scale, k: [3, 5, 8, 8][s]! }));
  for (const [config, dir, seed] of [[recurrence, recurrenceDir, 0], [pyramid, pyramidDir, 0], [recurrence, otherDir, 1]] as const) {
    const model = new DdnModel(config, seed);
    await saveModel(model, dir);
    model.dispose();
  }
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ddn encode and decode', () => {
  for (const name of ['recurrence', 'pyramid'] as const) {
    it(`gives back the exact latents (${name})`, async () => {
      const dir = name === 'recurrence' ? recurrenceDir : pyramidDir;
      const file = join(root, `${name}.ddnl`);
      for (const coding of ['packed', 'arithmetic']) {
        const result = await ddn('encode', '--model', dir, '--input', 'mnist', '--n', '12', '--out', file, '--coding', coding, '--json');
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout).coding).toBe(coding);

        const { model, file: modelFile } = await loadModel(dir);
        const expected = model.reconstruct(await mnistTest(12, 8)).latents;
        const parsed = readLatentFile(readFileSync(file));
        expect(parsed.weightsSha256).toBe(modelFile.weights.sha256);
        expect(parsed.ks).toEqual(levelKs(model.config));
        expect(parsed.latents).toEqual(expected);
        model.dispose();
      }
    });

    it(`decodes all levels exactly as the full decode (${name})`, async () => {
      const dir = name === 'recurrence' ? recurrenceDir : pyramidDir;
      const file = join(root, `${name}-progressive.ddnl`);
      expect((await ddn('encode', '--model', dir, '--input', 'mnist', '--n', '4', '--out', file)).code).toBe(0);
      const { model } = await loadModel(dir);
      const { latents } = readLatentFile(readFileSync(file));
      const full = model.decode(latents);
      const allLevels = model.decode(latents, model.levels);
      expect(allLevels.images).toEqual(full.images);
      expect(full.images).toEqual(model.reconstruct(await mnistTest(4, 8)).images);

      // Through the command line: --levels L and no --levels write the same pixels.
      const a = join(root, `${name}-all`);
      const b = join(root, `${name}-levels`);
      const c = join(root, `${name}-coarse`);
      expect((await ddn('decode', '--model', dir, '--input', file, '--out', a)).code).toBe(0);
      expect((await ddn('decode', '--model', dir, '--input', file, '--out', b, '--levels', String(model.levels))).code).toBe(0);
      expect((await ddn('decode', '--model', dir, '--input', file, '--out', c, '--levels', '1')).code).toBe(0);
      expect(readdirSync(a)).toHaveLength(4);
      for (const png of readdirSync(a)) {
        expect(readFileSync(join(b, png)).equals(readFileSync(join(a, png)))).toBe(true);
      }

      // One level gives a coarser image at the full side.
      const coarse = model.decode(latents, 1);
      expect(coarse.images.length).toBe(full.images.length);
      expect(coarse.images).not.toEqual(full.images);
      const metadata = await sharp(join(c, readdirSync(c)[0]!)).metadata();
      expect(metadata.width).toBe(8);
      model.dispose();
    });
  }

  it('writes one PNG for one image', async () => {
    const file = join(root, 'one.ddnl');
    const png = join(root, 'one.png');
    expect((await ddn('encode', '--model', recurrenceDir, '--input', 'mnist', '--n', '1', '--out', file)).code).toBe(0);
    const result = await ddn('decode', '--model', recurrenceDir, '--input', file, '--out', png, '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ images: 1, levels: 3, out: png });
    expect((await sharp(png).metadata()).width).toBe(8);
  });

  it('rejects a file made with another model', async () => {
    const file = join(root, 'foreign.ddnl');
    expect((await ddn('encode', '--model', otherDir, '--input', 'mnist', '--n', '2', '--out', file)).code).toBe(0);
    const result = await ddn('decode', '--model', recurrenceDir, '--input', file, '--out', join(root, 'x.png'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/was encoded with another model/);
  });

  it('rejects a corrupted or foreign file in one line', async () => {
    const file = join(root, 'corrupt.ddnl');
    expect((await ddn('encode', '--model', recurrenceDir, '--input', 'mnist', '--n', '2', '--out', file)).code).toBe(0);
    const bytes = readFileSync(file);
    bytes[bytes.length - 6]! ^= 0x10;
    const corrupt = join(root, 'corrupt2.ddnl');
    await import('node:fs/promises').then((fs) => fs.writeFile(corrupt, bytes));
    const result = await ddn('decode', '--model', recurrenceDir, '--input', corrupt, '--out', join(root, 'y.png'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ddn: error: .*checksum mismatch/);
    const png = await ddn('decode', '--model', recurrenceDir, '--input', join(recurrenceDir, 'config.json'), '--out', join(root, 'z.png'));
    expect(png.code).toBe(1);
    expect(png.stderr).toMatch(/not a DDN latent file/);
  });

  it('reports packed and arithmetic sizes and the codec comparison', async () => {
    const result = await ddn('encode', '--model', recurrenceDir, '--input', 'mnist', '--n', '3', '--out', join(root, 'c.ddnl'), '--compare', '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.bitsPerImage).toBe(9);
    expect(report.bytes).toBe(Math.min(report.packedBytes, report.arithmeticBytes));
    expect(report.comparison.pngBytes).toBeGreaterThan(0);
    expect(report.comparison.jpegBytes).toBeGreaterThan(0);
  });

  it('rejects --levels above L', async () => {
    const file = join(root, 'one.ddnl');
    const result = await ddn('decode', '--model', recurrenceDir, '--input', file, '--out', join(root, 'w.png'), '--levels', '4');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/invalid --levels 4: the model has 3 levels/);
  });
});

describe('ddn latent-tree', () => {
  it('reports accuracy per label budget', async () => {
    const result = await ddn('latent-tree', '--model', recurrenceDir, '--data', 'mnist', '--labels', '16,64', '--test-images', '30', '--json');
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report.accuracy)).toEqual(['16', '64']);
    for (const value of Object.values(report.accuracy) as number[]) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(1);
    }
    expect(report.testImages).toBe(30);
  });

  it('rejects a malformed label list', async () => {
    const result = await ddn('latent-tree', '--model', recurrenceDir, '--data', 'mnist', '--labels', '16,,x');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/invalid --labels '16,,x'/);
  });
});

describe('decodeTreeNodes', () => {
  it('decodes every shown node without leaking tensors', async () => {
    const { model } = await loadModel(recurrenceDir);
    const before = tf.memory().numTensors;
    const nodes = decodeTreeNodes(model, 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(nodes.size).toBe(1 + 8 + 64);
    // The root image is the mean of the 64 deepest images.
    const deepest = [...nodes].filter(([key]) => key.split(',').length === 2).map(([, image]) => image.data);
    const mean = deepest.reduce((sum, data) => sum + data[20]!, 0) / deepest.length;
    expect(nodes.get('')!.data[20]).toBeCloseTo(mean, 5);
    model.dispose();
  });
});

describe('ddn tree', () => {
  it('draws 3^levels cells per side', async () => {
    const out = join(root, 'tree.png');
    const result = await ddn('tree', '--model', pyramidDir, '--levels', '2', '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    const metadata = await sharp(out).metadata();
    expect(metadata.width).toBe(9 * (8 + 4));
    // K = 3 then 5: 1 root + 3 + 15 images.
    expect(JSON.parse(result.stdout).images).toBe(1 + 3 + 15);
  });
});
