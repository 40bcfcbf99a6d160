import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { renderLossCurveSvg, writeLossCurveSvg } from './lossCurve.js';
import { formatTick, linearTicks, logTicks } from './ticks.js';

const train = {
  name: 'train <L1>',
  values: [0, 100, 200, 300].map((step, i) => ({ step, value: 1 / (i + 1) })),
};
const test = { name: 'test', values: [{ step: 300, value: 0.3 }] };

describe('renderLossCurveSvg', () => {
  it('draws axes, ticks, labels and a legend', () => {
    const svg = renderLossCurveSvg([train, test], { title: 'MNIST loss' });

    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('>MNIST loss</text>');
    expect(svg).toContain('>step</text>');
    expect(svg).toContain('>loss</text>');
    expect(svg).toContain('>train &lt;L1&gt;</text>');
    expect(svg).toContain('>test</text>');
    expect(svg.match(/<polyline /g)).toHaveLength(1);
    expect(svg.match(/<circle /g)).toHaveLength(1);
    expect(svg).toContain('>300</text>');
    expect(svg).toContain('>0.2</text>');
  });

  it('uses decade ticks on a log scale and skips non-positive values', () => {
    const svg = renderLossCurveSvg(
      [{ name: 'loss', values: [{ step: 1, value: 0.002 }, { step: 2, value: 0 }, { step: 3, value: 5 }] }],
      { logY: true },
    );
    expect(svg).toContain('>loss (log scale)</text>');
    expect(svg).toContain('>0.001</text>');
    expect(svg).toContain('>10</text>');
    const points = /points="([^"]*)"/.exec(svg)![1]!.split(' ');
    expect(points).toHaveLength(2);
  });

  it('says no data for empty series', () => {
    expect(renderLossCurveSvg([{ name: 'empty', values: [] }])).toContain('>no data</text>');
  });

  it('thins dense series to two points per pixel column', () => {
    const values = Array.from({ length: 100_000 }, (_, step) => ({ step, value: Math.sin(step) + 2 }));
    const svg = renderLossCurveSvg([{ name: 'dense', values }], { width: 400 });
    const points = /points="([^"]*)"/.exec(svg)![1]!.split(' ');
    expect(points.length).toBeLessThanOrEqual(2 * 400);
    expect(points.length).toBeGreaterThan(100);
  });

  it('writes the file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'ddn-svg-'));
    try {
      const path = join(folder, 'charts', 'loss.svg');
      await writeLossCurveSvg(path, [train]);
      expect(await readFile(path, 'utf8')).toBe(renderLossCurveSvg([train]));
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('ticks', () => {
  it('chooses 1-2-5 spacing and covers the range', () => {
    expect(linearTicks([0.13, 0.97])).toEqual({
      min: 0, max: 1, spacing: 0.2, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1],
    });
  });

  it('widens a single value to one unit', () => {
    const axis = linearTicks([5]);
    expect(axis.min).toBeLessThan(5);
    expect(axis.max).toBeGreaterThan(5);
  });

  it('adds 2x and 5x ticks for narrow log ranges', () => {
    expect(logTicks([0.3, 4]).ticks).toEqual([0.1, 0.2, 0.5, 1, 2, 5, 10]);
    expect(logTicks([1e-4, 10]).ticks).toEqual([1e-4, 1e-3, 0.01, 0.1, 1, 10]);
  });

  it('formats labels by spacing', () => {
    expect(formatTick(0.6000000000000001, 0.2)).toBe('0.6');
    expect(formatTick(2000, 500)).toBe('2000');
    expect(formatTick(200000, 50000)).toBe('2e5');
    expect(formatTick(0.0001, 0)).toBe('1e-4');
    expect(formatTick(0.5, 0)).toBe('0.5');
  });
});
