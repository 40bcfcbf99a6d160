/**
 * `ddn prior` end to end on a tiny class-conditional model: measure node
 * usage, sample and evaluate with it, detect a prior made stale by more
 * training, and reject bad input with one line.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ddn } from './helpers/ddn.js';

let root: string;
let classRun: string;
let edgesRun: string;
/** Latents of `ddn sample --seed 5` before the run had a prior. */
let uniformLatents: number[][];

const TINY = ['--k', '4', '--levels', '3', '--channels', '8', '--batch', '8', '--backend', 'wasm'];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ddn-prior-'));
  classRun = join(root, 'class');
  edgesRun = join(root, 'edges');
  const cls = await ddn('train', '--data', 'mnist', '--out', classRun, '--condition', 'class', '--steps', '2', '--no-prior', ...TINY);
  expect(cls.code).toBe(0);
  const edges = await ddn('train', '--data', 'mnist', '--out', edgesRun, '--condition', 'edges', '--steps', '1', ...TINY);
  expect(edges.code).toBe(0);
  const sampled = await ddn('sample', '--model', classRun, '--out', join(root, 'before.png'), '--seed', '5', '--columns', '3', '--json');
  expect(sampled.code).toBe(0);
  expect(sampled.stderr).not.toMatch(/prior:/);
  uniformLatents = JSON.parse(sampled.stdout).latents;
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Reads the counts of the run's node-prior.json, [class][level][node]. */
function readCounts(dir: string): number[][][] {
  return JSON.parse(readFileSync(join(dir, 'node-prior.json'), 'utf8')).counts;
}

describe('ddn train on a class-conditional model', () => {
  it('measures node usage when it ends, and samples.png draws by it', async () => {
    const run = join(root, 'class-with-prior');
    const result = await ddn('train', '--data', 'mnist', '--out', run, '--condition', 'class', '--steps', '1', ...TINY);
    expect(result.code, result.stderr).toBe(0);
    const file = JSON.parse(readFileSync(join(run, 'node-prior.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    expect(file.weightsSha256).toBe(config.weights.sha256);
    expect(file.step).toBe(1);
    // Every embedded training digit, 10 classes, counted once per level.
    const total = file.images.reduce((a: number, b: number) => a + b, 0);
    expect(file.images).toHaveLength(10);
    expect(total).toBeGreaterThan(5000);
    for (let level = 0; level < 3; level++) {
      const sum = file.counts.reduce((acc: number, row: number[][]) => acc + row[level].reduce((a, b) => a + b, 0), 0);
      expect(sum).toBe(total);
    }
    expect(result.stdout).toContain('samples.png drawn again with nodes picked by usage');
    const sampled = await ddn('sample', '--model', run, '--out', join(root, 'after.png'), '--n', '4');
    expect(sampled.stderr).toMatch(/prior: picking nodes by usage/);
  });
});

describe('ddn prior', () => {
  it('writes per-class counts keyed to the step', async () => {
    const result = await ddn('prior', '--model', classRun, '--images', '60', '--backend', 'wasm', '--json');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('prior: 60/60 images');
    const report = JSON.parse(result.stdout);
    expect(report.images).toBe(60);
    expect(report.step).toBe(2);
    expect(report.rows).toBe(10);
    expect(report.levels).toHaveLength(3);

    const file = JSON.parse(readFileSync(join(classRun, 'node-prior.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(classRun, 'config.json'), 'utf8'));
    expect(file.step).toBe(2);
    expect(file.weightsSha256).toBe(config.weights.sha256);
    expect(file.images.reduce((a: number, b: number) => a + b, 0)).toBe(60);
    // Every level of every class counts each of its images once.
    file.counts.forEach((levels: number[][], row: number) => {
      for (const nodes of levels) expect(nodes.reduce((a, b) => a + b, 0)).toBe(file.images[row]);
    });
  });

  it('makes ddn sample draw only used nodes of each class', async () => {
    const result = await ddn('sample', '--model', classRun, '--out', join(root, 'usage.png'), '--seed', '5', '--columns', '3', '--json');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/prior: picking nodes by usage from node-prior\.json \(60 mnist images at step 2\)/);
    const report = JSON.parse(result.stdout);
    expect(report.prior).toBe('usage');
    const counts = readCounts(classRun);
    report.latents.forEach((latent: number[], i: number) => {
      latent.forEach((node, level) => {
        expect(counts[report.labels[i]][level][node], `image ${i} level ${level}`).toBeGreaterThan(0);
      });
    });
  });

  it('leaves --prior uniform as before the prior existed', async () => {
    const result = await ddn('sample', '--model', classRun, '--out', join(root, 'uniform.png'), '--seed', '5', '--columns', '3', '--prior', 'uniform', '--json');
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('prior: uniform node picks');
    expect(JSON.parse(result.stdout).latents).toEqual(uniformLatents);
  });

  it('makes ddn eval report the prior it used', async () => {
    const args = ['eval', '--model', classRun, '--data', 'mnist', '--n', '20', '--reconstructions', '4', '--out', join(root, 'eval'), '--json'];
    const usage = await ddn(...args, '--prior-temperature', '0.5');
    expect(usage.code).toBe(0);
    expect(JSON.parse(usage.stdout).prior).toBe('usage');
    expect(JSON.parse(usage.stdout).priorTemperature).toBe(0.5);
    expect(readFileSync(join(root, 'eval', 'eval.md'), 'utf8')).toContain('| node picks of the samples | usage prior, temperature 0.5 |');
    const uniform = await ddn(...args, '--prior', 'uniform');
    expect(uniform.code).toBe(0);
    expect(JSON.parse(uniform.stdout).prior).toBe('uniform');
  });

  it('detects a prior made stale by more training', async () => {
    const resumed = await ddn('train', '--data', 'mnist', '--out', classRun, '--condition', 'class', '--steps', '3', '--resume', '--no-prior', ...TINY);
    expect(resumed.code).toBe(0);

    const auto = await ddn('sample', '--model', classRun, '--out', join(root, 'stale.png'), '--json');
    expect(auto.code).toBe(0);
    expect(auto.stderr).toMatch(/warning: .*node-prior\.json is stale: it was measured on step 2 .* but the model is at step 3 .*; picking nodes uniformly/);
    expect(JSON.parse(auto.stdout).prior).toBe('uniform');

    const forced = await ddn('sample', '--model', classRun, '--out', join(root, 'never.png'), '--prior', 'usage');
    expect(forced.code).toBe(1);
    expect(forced.stderr).toMatch(/^ddn: error: .*node-prior\.json is stale: .*run 'ddn prior --model .*' again, or pass --prior uniform$/m);
    expect(existsSync(join(root, 'never.png'))).toBe(false);

    const measured = await ddn('prior', '--model', classRun, '--images', '60', '--backend', 'wasm');
    expect(measured.code).toBe(0);
    expect(JSON.parse(readFileSync(join(classRun, 'node-prior.json'), 'utf8')).step).toBe(3);
  });
});

describe('prior mistakes', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['--images 0', () => ['prior', '--model', classRun, '--images', '0'], /invalid --images '0': expected an integer in \[1, 10000000\]/],
    ['--images not a number', () => ['prior', '--model', classRun, '--images', 'all'], /invalid --images 'all'/],
    ['missing model folder', () => ['prior', '--model', '/nonexistent/run'], /model folder not found: \/nonexistent\/run/],
    ['unknown data', () => ['prior', '--model', classRun, '--data', '/nonexistent/images'], /dataset '\/nonexistent\/images' not found/],
    ['an image-conditioned model', () => ['prior', '--model', edgesRun, '--images', '4'], /conditioned on 'edges' images.*unconditional and class-conditional models only/],
    ['an unknown --prior', () => ['sample', '--model', classRun, '--out', 'never.png', '--prior', 'counts'], /invalid --prior 'counts': expected one of auto, usage, uniform/],
    ['temperature 0', () => ['sample', '--model', classRun, '--out', 'never.png', '--prior-temperature', '0'], /invalid --prior-temperature '0': expected a number in \(0, 100\]/],
    ['--prior usage without a file', () => ['eval', '--model', edgesRun, '--data', 'mnist', '--n', '4', '--out', 'never', '--prior', 'usage'], /--prior usage: .* has no node-prior\.json; measure it with 'ddn prior --model/],
    ['eval with an unknown --prior', () => ['eval', '--model', classRun, '--data', 'mnist', '--out', 'never', '--prior', 'x'], /invalid --prior 'x'/],
  ];
  it.each(cases)('%s gives one line and exit 1', async (_name, args, pattern) => {
    const result = await ddn(...args());
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync('never.png')).toBe(false);
    expect(existsSync('never')).toBe(false);
  });
});
