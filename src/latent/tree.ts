/**
 * The latent decision tree: every node of the latent tree (a path prefix)
 * counts the class labels of the training images whose latent passes
 * through it. A test image follows its own path and takes the majority
 * class of the deepest node on it that has votes. So a path never seen in
 * training falls back to its closest voted ancestor, and at worst to the
 * root, which has the majority class of all labelled images.
 */
import { DdnError } from '../errors.js';

/** A prediction with the depth of the node that decided it (0 = root). */
export interface TreePrediction {
  label: number;
  depth: number;
}

export class LatentTreeClassifier {
  /** Votes per class of each voted node, keyed by the path prefix ("" is the root). */
  private readonly votes = new Map<string, Int32Array>();

  constructor(
    readonly levelCount: number,
    readonly classCount: number,
  ) {
    if (!Number.isInteger(levelCount) || levelCount < 1) {
      throw new DdnError(`invalid level count ${levelCount}: expected an integer ≥ 1`);
    }
    if (!Number.isInteger(classCount) || classCount < 1) {
      throw new DdnError(`invalid class count ${classCount}: expected an integer ≥ 1`);
    }
  }

  /** Adds each labelled latent's vote to the root and every node on its path. */
  fit(latents: readonly ArrayLike<number>[], labels: ArrayLike<number>): this {
    if (latents.length !== labels.length) {
      throw new DdnError(`latent tree: ${latents.length} latents but ${labels.length} labels`);
    }
    latents.forEach((latent, i) => {
      const label = labels[i]!;
      if (!Number.isInteger(label) || label < 0 || label >= this.classCount) {
        throw new DdnError(`latent tree: label ${label} of image ${i} is outside [0, ${this.classCount})`);
      }
      for (const key of this.pathKeys(latent)) {
        let counts = this.votes.get(key);
        if (counts === undefined) {
          counts = new Int32Array(this.classCount);
          this.votes.set(key, counts);
        }
        counts[label]!++;
      }
    });
    return this;
  }

  /** Votes of the node at `prefix` (a copy), or undefined when it has none. */
  votesAt(prefix: ArrayLike<number>): Int32Array | undefined {
    const counts = this.votes.get(Array.from(prefix).join(','));
    return counts === undefined ? undefined : counts.slice();
  }

  /**
   * Predicts the majority class of the deepest voted node on the latent's
   * path. Ties go to the smaller class index. Raises DdnError before any fit.
   */
  predict(latent: ArrayLike<number>): TreePrediction {
    const keys = this.pathKeys(latent);
    for (let depth = keys.length - 1; depth >= 0; depth--) {
      const counts = this.votes.get(keys[depth]!);
      if (counts !== undefined) return { label: argmax(counts), depth };
    }
    throw new DdnError('latent tree: no labelled latents yet; call fit first');
  }

  /** Share of latents whose prediction equals their label, in [0, 1]. */
  accuracy(latents: readonly ArrayLike<number>[], labels: ArrayLike<number>): number {
    if (latents.length === 0 || latents.length !== labels.length) {
      throw new DdnError(`latent tree: expected equally many latents and labels (≥ 1), found ${latents.length} and ${labels.length}`);
    }
    let correct = 0;
    latents.forEach((latent, i) => {
      if (this.predict(latent).label === labels[i]) correct++;
    });
    return correct / latents.length;
  }

  /** Keys of the root and each prefix of the path, [L + 1]. */
  private pathKeys(latent: ArrayLike<number>): string[] {
    if (latent.length !== this.levelCount) {
      throw new DdnError(`latent tree: latent has ${latent.length} levels, expected ${this.levelCount}`);
    }
    const keys = [''];
    let key = '';
    for (let level = 0; level < latent.length; level++) {
      key = level === 0 ? String(latent[level]) : `${key},${latent[level]}`;
      keys.push(key);
    }
    return keys;
  }
}

function argmax(counts: Int32Array): number {
  let best = 0;
  for (let i = 1; i < counts.length; i++) {
    if (counts[i]! > counts[best]!) best = i;
  }
  return best;
}
