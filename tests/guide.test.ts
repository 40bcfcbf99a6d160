/**
 * `ddn classifier` and `ddn guide` end to end through the command line
 * entry point, in process, with a tiny model and a tiny classifier.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ddn } from './helpers/ddn.js';
import { readImage, writePng } from '../src/image/codec.js';

let root: string;
let runDir: string;
let classifierDir: string;


const BACKEND = ['--backend', 'wasm'];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ddn-guide-'));
  runDir = join(root, 'run');
  classifierDir = join(root, 'classifier');
  const train = await ddn(
    'train', '--data', 'mnist', '--out', runDir, '--steps', '2',
    '--k', '4', '--levels', '3', '--channels', '8', '--batch', '4', ...BACKEND,
  );
  expect(train.code, train.stderr).toBe(0);
  const classifier = await ddn(
    'classifier', 'train', '--data', 'mnist', '--out', classifierDir,
    '--epochs', '1', '--limit', '128', '--width', '2', '--json', ...BACKEND,
  );
  expect(classifier.code, classifier.stderr).toBe(0);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ddn classifier', () => {
  it('train writes a classifier folder and reports its test accuracy', () => {
    expect(existsSync(join(classifierDir, 'config.json'))).toBe(true);
    expect(existsSync(join(classifierDir, 'classifier.safetensors'))).toBe(true);
    const file = JSON.parse(readFileSync(join(classifierDir, 'config.json'), 'utf8'));
    expect(file.format).toBe('ddn-classifier');
    expect(file.training.testImages).toBe(997);
    expect(file.training.testAccuracy).toBeGreaterThanOrEqual(0);
  });

  it('eval reports the accuracy on the test split', async () => {
    const result = await ddn('classifier', 'eval', '--classifier', classifierDir, '--data', 'mnist', '--limit', '50', '--json', ...BACKEND);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.images).toBe(50);
    expect(report.accuracy).toBeGreaterThanOrEqual(0);
    expect(report.accuracy).toBeLessThanOrEqual(1);
  });
});

describe('ddn guide', () => {
  it('inpaint with class guidance', async () => {
    const out = join(root, 'inpaint.png');
    const result = await ddn(
      'guide', '--model', runDir, '--task', 'inpaint', '--input', 'mnist', '--index', '3',
      '--mask-preset', 'top', '--also', 'class:1', '--class', '7', '--classifier', classifierDir,
      '--n', '4', '--seed', '2', '--out', out, '--json', ...BACKEND,
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.task).toBe('inpaint');
    expect(report.psnr).toBeGreaterThan(0);
    expect(report.psnrHidden).toBeGreaterThan(0);
    expect(report.terms).toHaveLength(2);
    expect(report.terms[1].task).toBe('class');
    expect(report.terms[1].classHitRate).toBeGreaterThanOrEqual(0);
    expect(report.latents).toHaveLength(4);
    expect(report.secondsPerSample).toBeGreaterThan(0);
    // One row: the masked input, then four samples, 32 pixels each with a 2-pixel border.
    const grid = await readImage(out);
    expect(grid.width).toBe(5 * 34 + 2);
    expect(grid.height).toBe(34 + 2);
  });

  it.each([
    ['superres', ['--factor', '4'], ['psnr', 'consistencyPsnr']],
    ['denoise', ['--noise', '0.3'], ['psnr']],
    ['lowbit', ['--bits', '1'], ['psnr', 'consistencyPsnr']],
    ['reconstruct', [], ['psnr']],
  ])('%s reports its figures', async (task, extra, keys) => {
    const result = await ddn(
      'guide', '--model', runDir, '--task', task, '--input', 'mnist', ...extra,
      '--n', '2', '--out', join(root, `${task}.png`), '--json', ...BACKEND,
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    for (const key of keys) expect(report[key], key).toBeTypeOf('number');
  });

  it('class guidance reports the class hit rate', async () => {
    const result = await ddn(
      'guide', '--model', runDir, '--task', 'class', '--class', '3', '--classifier', classifierDir,
      '--judge', classifierDir, '--n', '3', '--topk', '1', '--out', join(root, 'class.png'), '--json', ...BACKEND,
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.classHitRate).toBeGreaterThanOrEqual(0);
    expect(report.classHitRate).toBeLessThanOrEqual(1);
  });

  it('takes a low-resolution input for super-resolution with --degraded', async () => {
    const low = join(root, 'low.png');
    await writePng(low, { data: new Float32Array(64).fill(0.5), height: 8, width: 8, channels: 1 });
    const result = await ddn(
      'guide', '--model', runDir, '--task', 'superres', '--factor', '4', '--input', low, '--degraded',
      '--n', '2', '--out', join(root, 'low-out.png'), '--json', ...BACKEND,
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.psnr).toBeUndefined();
    expect(report.consistencyPsnr).toBeTypeOf('number');
  });

  it.each([
    ['inpaint', ['--mask-preset', 'center', '--input', 'mnist'], ['psnrHidden', 'baselinePsnrHidden', 'psnrKnown']],
    ['superres', ['--factor', '8', '--input', 'mnist'], ['psnr', 'consistencyPsnr', 'bilinearPsnr', 'reconstructionPsnr']],
    ['class', ['--classifier', 'CLASSIFIER', '--judge', 'CLASSIFIER'], ['classHitRate', 'unguidedHitRate']],
  ])('--eval measures %s', async (task, extra, keys) => {
    const filled = extra.map((a) => (a === 'CLASSIFIER' ? classifierDir : a));
    const out = join(root, `eval-${task}.png`);
    const result = await ddn('guide', '--model', runDir, '--task', task, ...filled, '--eval', '2', '--out', out, '--json', ...BACKEND);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    for (const key of keys) expect(report[key], key).toBeTypeOf('number');
    expect(report.secondsPerSample).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(true);
  });

  it.each([
    ['colorize on a gray model', ['--task', 'colorize', '--input', 'mnist'], /colorize needs a model that makes RGB images/],
    ['a class out of range', ['--task', 'class', '--class', '10'], /invalid class 10: the classifier has classes 0 to 9/],
    ['a mask of the wrong size', ['--task', 'inpaint', '--input', 'mnist', '--mask', 'MASK'], /the mask is 8×8 pixels, the model makes 32×32 images/],
    ['inpaint without a mask', ['--task', 'inpaint', '--input', 'mnist'], /exactly one of --mask/],
    ['a missing input', ['--task', 'superres'], /--input is required for superres/],
    ['a malformed --also', ['--task', 'reconstruct', '--input', 'mnist', '--also', 'class'], /invalid --also 'class': expected TASK:WEIGHT/],
  ])('%s is a clear error', async (_name, args, message) => {
    const mask = join(root, 'small-mask.png');
    await writePng(mask, { data: new Float32Array(64).fill(1), height: 8, width: 8, channels: 1 });
    const filled = args.map((a) => (a === 'MASK' ? mask : a));
    const result = await ddn(
      'guide', '--model', runDir, ...filled, '--classifier', classifierDir,
      '--out', join(root, 'error.png'), ...BACKEND,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/internal error/);
  });
});
