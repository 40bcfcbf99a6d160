/** `ddn eval` end to end on a tiny model and an untrained classifier. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { initBackend } from '../src/backend/select.js';
import { Classifier, makeClassifierConfig } from '../src/classifier/cnn.js';
import { saveClassifier } from '../src/classifier/io.js';
import { ddn } from './helpers/ddn.js';

let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ddn-eval-'));
  await initBackend('wasm');
  const trained = await ddn('train', '--data', 'mnist', '--out', join(root, 'run'), '--k', '4', '--levels', '3', '--channels', '8', '--batch', '8', '--steps', '2', '--backend', 'wasm');
  expect(trained.code).toBe(0);
  const classifier = new Classifier(makeClassifierConfig({ imageSize: 32, imageChannels: 1, classes: 10, width: 4 }), 1);
  await saveClassifier(classifier, join(root, 'classifier'));
  classifier.dispose();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ddn eval --json', () => {
  it('reports every figure and writes the files', async () => {
    const out = join(root, 'eval');
    const result = await ddn('eval', '--model', join(root, 'run'), '--data', 'mnist', '--classifier', join(root, 'classifier'), '--n', '60', '--reconstructions', '20', '--out', out, '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    for (const key of ['frechet', 'precision', 'recall', 'psnr', 'ssim', 'bitsPerImage', 'nodeEntropy']) {
      expect(report, key).toHaveProperty(key);
    }
    expect(report.frechet).toBeGreaterThan(0);
    expect(report.precision).toBeGreaterThanOrEqual(0);
    expect(report.precision).toBeLessThanOrEqual(1);
    expect(report.ssim).toBeLessThan(1);
    expect(report.bitsPerImage).toBe(6);
    expect(report.nodeEntropy).toHaveLength(3);
    for (const h of report.nodeEntropy) expect(h).toBeLessThanOrEqual(2 + 1e-9);
    // The rate–distortion curve has one point per level, and bits add up.
    expect(report.rateDistortion.map((p: { bits: number }) => p.bits)).toEqual([2, 4, 6]);
    for (const file of ['eval.json', 'eval.md', 'nearest.png', 'rate-distortion.svg']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    expect(readFileSync(join(out, 'eval.md'), 'utf8')).toMatch(/Rate–distortion/);
  });

  it('skips the feature metrics without a classifier', async () => {
    const result = await ddn('eval', '--model', join(root, 'run'), '--data', 'mnist', '--n', '20', '--reconstructions', '5', '--out', join(root, 'eval2'), '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.frechet).toBeNull();
    expect(report.psnr).toBeGreaterThan(0);
  });
});
