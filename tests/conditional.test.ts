/** Conditional models through the command line: train, then sample per class or per condition image. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ddn } from './helpers/ddn.js';

let root: string;

const TINY = ['--k', '4', '--levels', '3', '--channels', '8', '--batch', '8', '--steps', '2', '--backend', 'wasm'];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'ddn-cond-'));
  const cls = await ddn('train', '--data', 'mnist', '--out', join(root, 'class'), '--condition', 'class', ...TINY);
  expect(cls.stderr).not.toMatch(/error/);
  expect(cls.code).toBe(0);
  const edges = await ddn('train', '--data', 'mnist', '--out', join(root, 'edges'), '--condition', 'edges', ...TINY);
  expect(edges.code).toBe(0);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('class-conditional sampling', () => {
  it('makes one row per class by default', async () => {
    const out = join(root, 'rows.png');
    const result = await ddn('sample', '--model', join(root, 'class'), '--out', out, '--columns', '4', '--json');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.n).toBe(40);
    expect(report.labels.slice(0, 5)).toEqual([0, 0, 0, 0, 1]);
    const { width, height } = await sharp(out).metadata();
    // 4 columns and 10 rows of 32-pixel cells with 2-pixel padding.
    expect(width).toBe(4 * 34 + 2);
    expect(height).toBe(10 * 34 + 2);
  });

  it('makes every image of one class with --class', async () => {
    const result = await ddn('sample', '--model', join(root, 'class'), '--out', join(root, 'seven.png'), '--n', '6', '--class', '7', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).labels).toEqual([7, 7, 7, 7, 7, 7]);
  });

  it('rejects a class out of range', async () => {
    const result = await ddn('sample', '--model', join(root, 'class'), '--out', join(root, 'x.png'), '--class', '10');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/classes 0 to 9/);
    expect(existsSync(join(root, 'x.png'))).toBe(false);
  });
});

describe('edges-to-image sampling', () => {
  it('needs a condition image and uses one made from a digit', async () => {
    const missing = await ddn('sample', '--model', join(root, 'edges'), '--out', join(root, 'e.png'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--condition-image/);

    const digit = join(root, 'digit.png');
    const ok = await ddn('reconstruct', '--model', join(root, 'edges'), '--input', 'mnist', '--n', '2', '--out', digit);
    expect(ok.code).toBe(0);
    const result = await ddn('sample', '--model', join(root, 'edges'), '--out', join(root, 'e.png'), '--n', '3', '--condition-from', join(root, 'class', 'samples.png'));
    // A grid of samples is not a 32×32 digit: a clear size error.
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/not a power of two|square|expected/);
  });
});
