/**
 * Node usage counts: how often reconstruction of real images (the argmin
 * sampler, as in training) picks each node of each level. With a class
 * condition a node may serve one class only, so a class-conditional model
 * gets one table per class. Any other model gets a single table.
 */
import { DdnError } from '../errors.js';
import type { Dataset } from '../data/types.js';
import type { DdnModel } from '../model/model.js';
import { conditionOf } from '../train/artifacts.js';

/** Picks per node, `counts[row][level][node]`, where a row is a class or the single row 0. */
export interface NodeCounts {
  /** K of every level, [L]. */
  ks: number[];
  /** One row per class for a class-conditional model, else 1. */
  rows: number;
  counts: number[][][];
  /** Images counted in each row, [rows]. */
  images: number[];
}

/** Zero counts for `rows` rows of levels with the given K. */
export function emptyNodeCounts(ks: readonly number[], rows: number): NodeCounts {
  return {
    ks: [...ks],
    rows,
    counts: Array.from({ length: rows }, () => ks.map((k) => new Array<number>(k).fill(0))),
    images: new Array<number>(rows).fill(0),
  };
}

/**
 * Adds the picks of `latents` ([L] each) to `into`. `rows[i]` is the row
 * (class) of latent i. Without `rows`, every latent goes to row 0.
 */
export function addLatents(into: NodeCounts, latents: ArrayLike<number>[], rows?: ArrayLike<number>): void {
  latents.forEach((latent, i) => {
    const row = rows === undefined ? 0 : rows[i];
    if (!(Number.isInteger(row) && row >= 0 && row < into.rows)) {
      throw new RangeError(`row ${row} of latent ${i} is outside [0, ${into.rows})`);
    }
    if (latent.length !== into.ks.length) {
      throw new RangeError(`latent ${i} has ${latent.length} levels, expected ${into.ks.length}`);
    }
    into.ks.forEach((k, level) => {
      const node = latent[level];
      if (!(Number.isInteger(node) && node >= 0 && node < k)) {
        throw new RangeError(`node ${node} of latent ${i} at level ${level} is outside [0, ${k})`);
      }
      into.counts[row][level][node]++;
    });
    into.images[row]++;
  });
}

/** Models whose node usage a prior can describe: unconditional and class-conditional ones. */
export function checkPriorSupported(model: DdnModel, modelDir: string): void {
  const kind = model.config.condition;
  if (kind !== 'none' && kind !== 'class') {
    throw new DdnError(
      `${modelDir} is conditioned on '${kind}' images, whose node usage depends on each condition image; ` +
        'a node usage prior applies to unconditional and class-conditional models only',
    );
  }
}

/**
 * Counts the nodes that reconstruction picks for every image of `data`, in
 * chunks of `chunk` images, calling `onProgress(done, total)` after each.
 * A class-conditional model needs labels, and each class at least one image.
 */
export function measureNodeCounts(
  model: DdnModel,
  data: Dataset,
  onProgress: (done: number, total: number) => void = () => undefined,
  chunk = 512,
): NodeCounts {
  const classConditional = model.config.condition === 'class';
  const rows = classConditional ? model.config.classCount : 1;
  if (classConditional && data.labels === undefined) {
    throw new DdnError(`${data.name} has no labels, but a class-conditional model needs the class of every image`);
  }
  const counts = emptyNodeCounts(model.ks, rows);
  const length = model.imageLength;
  for (let start = 0; start < data.count; start += chunk) {
    const count = Math.min(chunk, data.count - start);
    const images = data.images.subarray(start * length, (start + count) * length);
    const labels = data.labels?.subarray(start, start + count);
    const { latents } = model.reconstruct(images, 64, conditionOf(model, images, labels));
    addLatents(counts, latents, classConditional ? labels : undefined);
    onProgress(start + count, data.count);
  }
  const missing = counts.images.findIndex((n) => n === 0);
  if (missing >= 0) {
    const subject = classConditional ? `class ${missing}` : 'the model';
    throw new DdnError(`${data.name}: no images of ${subject}, so its node usage cannot be measured; use data with every class`);
  }
  return counts;
}
