/** `ddn toy2d` end to end: metrics.json, compare.png, and a clear error for a bad density file. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ddn } from './helpers/ddn.js';

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'ddn-toy-'));
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('ddn toy2d', () => {
  it('beats real samples with Split-and-Prune and not without', async () => {
    const common = ['--density', 'rings', '--k', '2000', '--iters', '20000', '--bins', '40', '--json'];
    const tv = await ddn('toy2d', ...common, '--out', join(root, 'tv'));
    const off = await ddn('toy2d', ...common, '--split-prune', 'off', '--out', join(root, 'off'));
    expect(tv.code).toBe(0);
    expect(off.code).toBe(0);
    const a = JSON.parse(tv.stdout);
    const b = JSON.parse(off.stdout);
    expect(a.ddn.kl).toBeLessThan(a.real.kl);
    expect(b.ddn.kl).toBeGreaterThan(2 * b.real.kl);
    const file = JSON.parse(readFileSync(join(root, 'tv', 'metrics.json'), 'utf8'));
    for (const key of ['kl', 'js', 'tv', 'hellinger']) {
      expect(file.ddn[key]).toBeCloseTo(a.ddn[key], 10);
      expect(file.real).toHaveProperty(key);
    }
    expect(file.k).toBe(2000);
    expect(file.splitPrune).toBe('tv');
    expect(existsSync(join(root, 'tv', 'compare.png'))).toBe(true);
  });

  it('rejects a density file that is not an image', async () => {
    const bad = join(root, 'bad.png');
    writeFileSync(bad, 'not a picture');
    const result = await ddn('toy2d', '--density', bad, '--out', join(root, 'bad'), '--iters', '10');
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/bad\.png/);
  });
});
