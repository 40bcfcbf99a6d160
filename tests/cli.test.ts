/**
 * End to end through the command line entry point, in process: train a
 * tiny model on the embedded digits, then sample, reconstruct and inspect it,
 * and check that user mistakes give one line and a non-zero exit.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ddn } from './helpers/ddn.js';

let root: string;
let runDir: string;

const TINY = ['--k', '4', '--levels', '3', '--channels', '8', '--batch', '8', '--backend', 'wasm'];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ddn-cli-'));
  runDir = join(root, 'run');
  const result = await ddn('train', '--data', 'mnist', '--out', runDir, '--steps', '3', ...TINY);
  expect(result.stderr).toContain('backend: wasm');
  expect(result.code).toBe(0);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ddn train', () => {
  it('writes the model, checkpoint, pictures and log', () => {
    for (const file of ['config.json', 'model.safetensors', 'checkpoint.safetensors', 'samples.png', 'reconstructions.png', 'loss.svg', 'log.jsonl']) {
      expect(existsSync(join(runDir, file)), file).toBe(true);
    }
    const lines = readFileSync(join(runDir, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    const entry = JSON.parse(lines[2]);
    expect(entry.step).toBe(3);
    expect(entry.levelLosses).toHaveLength(3);
    expect(Number.isFinite(entry.loss)).toBe(true);
  });

  it('continues a run with --resume', async () => {
    const dir = join(root, 'resumed');
    expect((await ddn('train', '--data', 'mnist', '--out', dir, '--steps', '2', ...TINY)).code).toBe(0);
    const again = await ddn('train', '--data', 'mnist', '--out', dir, '--steps', '4', '--resume', ...TINY);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('resumed at step 2');
    const lines = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).step)).toEqual([1, 2, 3, 4]);
  });

  it('refuses to overwrite a run without --resume', async () => {
    const before = readFileSync(join(runDir, 'model.safetensors'));
    const result = await ddn('train', '--data', 'mnist', '--out', runDir, '--steps', '1', ...TINY);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/already holds a run/);
    expect(readFileSync(join(runDir, 'model.safetensors')).equals(before)).toBe(true);
  });
});

describe('ddn sample', () => {
  it('gives the same file for the same seed', async () => {
    const a = join(root, 'a.png');
    const b = join(root, 'b.png');
    const c = join(root, 'c.png');
    expect((await ddn('sample', '--model', runDir, '--n', '9', '--seed', '5', '--out', a)).code).toBe(0);
    expect((await ddn('sample', '--model', runDir, '--n', '9', '--seed', '5', '--out', b)).code).toBe(0);
    expect((await ddn('sample', '--model', runDir, '--n', '9', '--seed', '6', '--out', c)).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).equals(readFileSync(c))).toBe(false);
  });
});

describe('ddn reconstruct --json', () => {
  it('prints one JSON object with PSNR, bits and latents', async () => {
    const out = join(root, 'rec.png');
    const result = await ddn('reconstruct', '--model', runDir, '--input', 'mnist', '--n', '4', '--out', out, '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.bitsPerImage).toBe(6);
    expect(report.latents).toHaveLength(4);
    for (const latent of report.latents) {
      expect(latent).toHaveLength(3);
      for (const index of latent) expect(index >= 0 && index < 4).toBe(true);
    }
    expect(report.psnr).toBeGreaterThan(5);
    expect(report.psnr).toBeLessThan(40);
    expect(existsSync(out)).toBe(true);
  });
});

describe('ddn info', () => {
  it('names the condition and the training in words', async () => {
    const result = await ddn('info', '--model', runDir, '--usage-images', '0');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^condition: none$/m);
    expect(result.stdout).toMatch(/^training: data mnist, \d+ steps, batch \d+, [\d.]+ min, on wasm$/m);
  });
});

describe('ddn info --json', () => {
  it('reports K, L, parameters and backend', async () => {
    const result = await ddn('info', '--model', runDir, '--json', '--usage-images', '50');
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.k).toBe(4);
    expect(info.levels).toBe(3);
    expect(info.bitsPerImage).toBe(6);
    expect(info.backend).toBe('wasm');
    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
    expect(info.params).toBe(config.parameters);
    expect(info.nodeUsage).toHaveLength(3);
    expect(info.nodeUsage.map((u: { level: number }) => u.level)).toEqual([1, 2, 3]);
    for (const usage of info.nodeUsage) {
      expect(usage.max).toBeGreaterThanOrEqual(usage.min);
      expect(usage.max).toBeLessThanOrEqual(1);
    }
  });
});

describe('user mistakes', () => {
  const cases: [string, string[], RegExp][] = [
    ['missing model folder', ['sample', '--model', '/nonexistent/run', '--out', 'x.png'], /model folder not found/],
    ['folder that is not a model', ['info', '--model', '.'], /is not a model folder/],
    ['K below 2', ['train', '--data', 'mnist', '--out', 'never', '--k', '1'], /invalid --k '1'/],
    ['batch 0', ['train', '--data', 'mnist', '--out', 'never', '--batch', '0'], /invalid --batch '0'/],
    ['steps not a number', ['train', '--data', 'mnist', '--out', 'never', '--steps', 'ten'], /invalid --steps 'ten'/],
    ['negative learning rate', ['train', '--data', 'mnist', '--out', 'never', '--lr', '-1'], /invalid --lr '-1'/],
    ['unknown data', ['train', '--data', '/nonexistent/images', '--out', 'never'], /not found/],
    ['an output that is not a PNG', ['sample', '--model', '/nonexistent/run', '--out', 'README.md'], /expected a file name ending in \.png/],
  ];
  it.each(cases)('%s gives one line and exit 1', async (_name, args, pattern) => {
    const result = await ddn(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(pattern);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync('never')).toBe(false);
  });
});

describe('ddn --version', () => {
  it('prints the package version', async () => {
    const result = await ddn('--version');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
