import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { writePng } from '../image/codec.js';
import { MASK_PRESETS, knownPixels, presetMask, readMaskPng } from './masks.js';

const root = mkdtempSync(join(tmpdir(), 'ddn-masks-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Draws the mask as rows of '#' (known) and '.' (hidden). */
function picture(mask: Float32Array, size: number): string[] {
  return Array.from({ length: size }, (_, y) =>
    Array.from(mask.subarray(y * size, (y + 1) * size), (m) => (m > 0 ? '#' : '.')).join(''),
  );
}

describe('presetMask', () => {
  it.each([
    ['left', ['..##', '..##', '..##', '..##']],
    ['right', ['##..', '##..', '##..', '##..']],
    ['top', ['....', '....', '####', '####']],
    ['bottom', ['####', '####', '....', '....']],
    ['center', ['####', '#..#', '#..#', '####']],
    ['checker', ['.#.#', '#.#.', '.#.#', '#.#.']],
  ] as const)('%s on a 4×4 image', (preset, rows) => {
    expect(picture(presetMask(preset, 4), 4)).toEqual(rows);
  });

  it.each(MASK_PRESETS)('%s on 32×32 hides half the pixels, or a quarter for center', (preset) => {
    const mask = presetMask(preset, 32);
    expect(mask).toHaveLength(32 * 32);
    expect(knownPixels(mask)).toBe(preset === 'center' ? 768 : 512);
  });

  it('checker uses blocks of a quarter side', () => {
    const rows = picture(presetMask('checker', 8), 8);
    expect(rows[0]).toBe('..##..##');
    expect(rows[1]).toBe('..##..##');
    expect(rows[2]).toBe('##..##..');
  });

  it('rejects an unknown preset and a tiny side', () => {
    expect(() => presetMask('middle' as never, 8)).toThrow(/unknown mask preset 'middle'/);
    expect(() => presetMask('top', 1)).toThrow(/invalid mask side 1/);
  });
});

describe('readMaskPng', () => {
  it('reads white as known and black as hidden', async () => {
    const data = presetMask('left', 8);
    const path = join(root, 'left.png');
    await writePng(path, { data, height: 8, width: 8, channels: 1 });
    expect(Array.from(await readMaskPng(path, 8))).toEqual(Array.from(data));
  });

  it('rejects a mask of the wrong size', async () => {
    const path = join(root, 'small.png');
    await writePng(path, { data: new Float32Array(16).fill(1), height: 4, width: 4, channels: 1 });
    await expect(readMaskPng(path, 8)).rejects.toThrow(/the mask is 4×4 pixels, the model makes 8×8 images/);
  });
});
