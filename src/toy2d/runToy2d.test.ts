import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { runToy2d, type Toy2dOptions } from './runToy2d.js';

async function options(overrides: Partial<Toy2dOptions>): Promise<Toy2dOptions> {
  return {
    density: 'rings',
    k: 400,
    iters: 2000,
    batch: 10,
    splitPrune: 'tv',
    bins: 30,
    seed: 1,
    outDir: await mkdtemp(join(tmpdir(), 'toy2d-run-')),
    gif: false,
    ...overrides,
  };
}

describe('runToy2d', () => {
  it('writes metrics.json, compare.png and training.gif', async () => {
    const settings = await options({ gif: true });
    const progress: number[] = [];
    const result = await runToy2d({
      ...settings,
      onProgress: (iter) => progress.push(iter),
    });

    const metrics = JSON.parse(
      await readFile(join(settings.outDir, 'metrics.json'), 'utf8'),
    );
    expect(Object.keys(metrics.ddn).sort()).toEqual(['hellinger', 'js', 'kl', 'tv']);
    expect(Object.keys(metrics.real).sort()).toEqual(['hellinger', 'js', 'kl', 'tv']);
    expect(metrics.k).toBe(400);
    expect(metrics.iters).toBe(2000);
    expect(metrics.splitPrune).toBe('tv');
    expect(metrics.seconds).toBeGreaterThan(0);
    expect(metrics.ddn.kl).toBe(result.ddn.kl);
    expect(progress.at(-1)).toBe(2000);

    const compare = await sharp(join(settings.outDir, 'compare.png')).metadata();
    expect(compare.format).toBe('png');
    expect(compare.width).toBeGreaterThan(3 * compare.height);

    const gif = await sharp(join(settings.outDir, 'training.gif')).metadata();
    expect(gif.format).toBe('gif');
    expect(gif.pages).toBe(50);
  });

  it('rejects invalid options with DdnError', async () => {
    const invalid: Partial<Toy2dOptions>[] = [
      { k: 1 },
      { iters: 0 },
      { batch: 2.5 },
      { bins: 1 },
      { splitPrune: 'sometimes' as never },
      { learningRate: 0.9 },
      { density: 'moons' },
    ];
    for (const overrides of invalid) {
      await expect(runToy2d(await options(overrides))).rejects.toThrow(DdnError);
    }
  });

  it('rejects a density file that is not an image', async () => {
    const settings = await options({});
    const path = join(settings.outDir, 'notes.png');
    await writeFile(path, '# not an image\n');
    await expect(runToy2d({ ...settings, density: path })).rejects.toThrow(
      /Cannot read density image/,
    );
  });
});
