/**
 * Latent files and pictures against a loaded model: checking that a file
 * belongs to the model, and decoding the nodes of the latent tree.
 */
import { DdnError } from '../errors.js';
import type { ImageData32 } from '../image/types.js';
import type { DdnModel } from '../model/model.js';
import type { LatentFile } from './format.js';
import { TREE_CHILDREN_SHOWN } from './treePicture.js';

/**
 * Raises DdnError unless `file` was written for the model whose weights
 * have SHA-256 `weightsSha256` and whose levels have K `ks`.
 */
export function checkLatentFileMatchesModel(
  file: LatentFile,
  weightsSha256: string,
  ks: readonly number[],
  source: string,
  modelDir: string,
): void {
  if (file.weightsSha256 !== weightsSha256) {
    throw new DdnError(
      `${source} was encoded with another model (weights SHA-256 ${file.weightsSha256.slice(0, 12)}…), ` +
        `but ${modelDir} has weights ${weightsSha256.slice(0, 12)}…; decode it with the model that encoded it`,
    );
  }
  const same = file.ks.length === ks.length && file.ks.every((k, level) => k === ks[level]);
  if (!same) {
    throw new DdnError(
      `${source}: latents have K per level [${file.ks.join(', ')}] but ${modelDir} has [${ks.join(', ')}]`,
    );
  }
}

/**
 * Decodes every node of the first `levels` levels of the latent tree that a
 * tree picture shows (the first 8 children of each node), and the mean of
 * the deepest ones for the root. Keys are prefixes joined by commas.
 */
export function decodeTreeNodes(model: DdnModel, levels: number): Map<string, ImageData32> {
  if (!Number.isInteger(levels) || levels < 1 || levels > model.levels) {
    throw new DdnError(`invalid tree levels ${levels}: the model has ${model.levels} levels`);
  }
  const { imageSize, imageChannels } = model.config;
  const length = model.imageLength;
  const nodes = new Map<string, ImageData32>();
  let prefixes: number[][] = [[]];
  let deepest: Float32Array = new Float32Array(0);

  for (let depth = 1; depth <= levels; depth++) {
    const children = Math.min(model.ks[depth - 1]!, TREE_CHILDREN_SHOWN);
    prefixes = prefixes.flatMap((prefix) => Array.from({ length: children }, (_, child) => [...prefix, child]));
    const { images } = model.decode(prefixes, depth);
    prefixes.forEach((prefix, i) => {
      const data = images.slice(i * length, (i + 1) * length);
      nodes.set(prefix.join(','), { data, height: imageSize, width: imageSize, channels: imageChannels });
    });
    deepest = images;
  }

  // The root shows the mean of the deepest images.
  const mean = new Float32Array(length);
  const count = prefixes.length;
  for (let i = 0; i < count; i++) {
    for (let p = 0; p < length; p++) mean[p]! += deepest[i * length + p]! / count;
  }
  nodes.set('', { data: mean, height: imageSize, width: imageSize, channels: imageChannels });
  return nodes;
}
