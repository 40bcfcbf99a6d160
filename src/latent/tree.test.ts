import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { LatentTreeClassifier } from './tree.js';

/**
 * Builds a hand-made tree with K = 2, L = 3 and classes 0–2:
 *   [0,0,0] ×2 class 1, [0,0,1] class 2, [0,1,1] class 0, [1,1,0] class 2.
 */
function handMadeTree(): LatentTreeClassifier {
  const latents = [[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 1], [1, 1, 0]];
  const labels = [1, 1, 2, 0, 2];
  return new LatentTreeClassifier(3, 3).fit(latents, labels);
}

describe('LatentTreeClassifier', () => {
  it('counts votes on every node of each path', () => {
    const tree = handMadeTree();
    expect(Array.from(tree.votesAt([])!)).toEqual([1, 2, 2]);
    expect(Array.from(tree.votesAt([0])!)).toEqual([1, 2, 1]);
    expect(Array.from(tree.votesAt([0, 0])!)).toEqual([0, 2, 1]);
    expect(Array.from(tree.votesAt([0, 0, 0])!)).toEqual([0, 2, 0]);
    expect(Array.from(tree.votesAt([1, 1, 0])!)).toEqual([0, 0, 1]);
    expect(tree.votesAt([1, 0])).toBeUndefined();
  });

  it('predicts from the leaf when it has votes', () => {
    const tree = handMadeTree();
    expect(tree.predict([0, 0, 0])).toEqual({ label: 1, depth: 3 });
    expect(tree.predict([0, 0, 1])).toEqual({ label: 2, depth: 3 });
    expect(tree.predict([0, 1, 1])).toEqual({ label: 0, depth: 3 });
  });

  it('falls back to the closest voted ancestor', () => {
    const tree = handMadeTree();
    // [0,1,0] is unseen; its parent [0,1] has one vote for class 0.
    expect(tree.predict([0, 1, 0])).toEqual({ label: 0, depth: 2 });
    // [1,0,*] is unseen below [1], which voted class 2.
    expect(tree.predict([1, 0, 1])).toEqual({ label: 2, depth: 1 });
  });

  it('falls back to the root majority', () => {
    // Classes 1 and 2 tie at the root with 2 votes: the smaller index wins.
    const tree = handMadeTree();
    expect(new LatentTreeClassifier(3, 3).fit([[0, 0, 0]], [2]).predict([1, 1, 1])).toEqual({ label: 2, depth: 0 });
    expect(tree.predict([2, 2, 2])).toEqual({ label: 1, depth: 0 });
  });

  it('breaks ties toward the smaller class', () => {
    const tree = handMadeTree();
    // [0,0] has votes 0/2/1 → 1; [0] has 1/2/1 → 1.
    expect(tree.predict([0, 0, 5]).label).toBe(1);
  });

  it('measures accuracy', () => {
    const tree = handMadeTree();
    const accuracy = tree.accuracy([[0, 0, 0], [0, 1, 0], [1, 0, 1], [2, 2, 2]], [1, 0, 0, 1]);
    expect(accuracy).toBe(0.75);
  });

  it('rejects bad input', () => {
    expect(() => new LatentTreeClassifier(3, 3).predict([0, 0, 0])).toThrow(DdnError);
    expect(() => new LatentTreeClassifier(3, 3).fit([[0, 0]], [1])).toThrow(/2 levels, expected 3/);
    expect(() => new LatentTreeClassifier(3, 3).fit([[0, 0, 0]], [3])).toThrow(/outside \[0, 3\)/);
    expect(() => new LatentTreeClassifier(3, 3).fit([[0, 0, 0]], [])).toThrow(/1 latents but 0 labels/);
  });
});
