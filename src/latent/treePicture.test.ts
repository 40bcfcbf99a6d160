import { describe, expect, it } from 'vitest';

import { createImage } from '../image/types.js';
import { layoutTree, MAX_TREE_SIDE, renderTree } from './treePicture.js';

describe('layoutTree', () => {
  it('places 585 tiles for K = 8, L = 3', () => {
    const layout = layoutTree([8, 8, 8], 16);
    expect(layout.side).toBe(27 * 20);
    expect(layout.tiles.length).toBe(1 + 8 + 64 + 512);
    expect(layout.tiles.filter((t) => t.leaf).length).toBe(512);
  });

  it('covers the picture without overlap for K = 8', () => {
    const layout = layoutTree([8, 8], 4, 1);
    const cover = new Uint8Array(layout.side * layout.side);
    for (const tile of layout.tiles) {
      for (let y = tile.y; y < tile.y + tile.side; y++) {
        for (let x = tile.x; x < tile.x + tile.side; x++) cover[y * layout.side + x]!++;
      }
    }
    expect(cover.every((count) => count === 1)).toBe(true);
  });

  it('sizes images by depth', () => {
    const layout = layoutTree([8, 8, 8], 10, 1);
    const sideOf = (length: number) => new Set(layout.tiles.filter((t) => t.prefix.length === length && !t.leaf).map((t) => t.side));
    expect([...sideOf(0)]).toEqual([9 * 12]);
    expect([...sideOf(1)]).toEqual([3 * 12]);
    expect([...sideOf(2)]).toEqual([12]);
  });

  it('shows at most 8 children', () => {
    const wide = layoutTree([64, 2], 4);
    expect(wide.tiles.filter((t) => t.prefix.length === 1).map((t) => t.prefix[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(wide.tiles.filter((t) => t.leaf).length).toBe(16);
    const narrow = layoutTree([2, 2, 2], 4);
    expect(narrow.tiles.length).toBe(1 + 2 + 4 + 8);
  });

  it('rejects a picture wider than the maximum', () => {
    expect(() => layoutTree([8, 8, 8, 8, 8, 8], 32)).toThrow(new RegExp(`more than ${MAX_TREE_SIDE}`));
  });
});

describe('renderTree', () => {
  it('draws each node image in its cell and frames inner nodes', () => {
    const layout = layoutTree([8], 2, 1);
    const picture = renderTree(layout, (prefix) => {
      const image = createImage(2, 2, 1);
      image.data.fill(prefix.length === 0 ? 0.5 : (prefix[0]! + 1) / 10);
      return image;
    });
    expect(picture.height).toBe(12);
    const at = (x: number, y: number) => Array.from(picture.data.subarray((y * 12 + x) * 3, (y * 12 + x) * 3 + 3));
    // Child 0 fills the top-left cell inside a black padding ring.
    expect(at(1, 1)).toEqual([0.1, 0.1, 0.1].map((v) => Math.fround(v)));
    expect(at(0, 0)).toEqual([0, 0, 0]);
    // The root sits in the centre cell (4..7) with a grey frame.
    expect(at(5, 5)).toEqual([0.5, 0.5, 0.5]);
    expect(at(4, 4)).toEqual([0.6, 0.6, 0.6].map((v) => Math.fround(v)));
    // Child 7 is bottom right.
    expect(at(9, 9)).toEqual([0.8, 0.8, 0.8].map((v) => Math.fround(v)));
  });
});
