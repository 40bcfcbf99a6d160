/**
 * The model configuration: one interface, its defaults in one place, and
 * validation. A model on disk is this object as JSON beside its weights.
 *
 * Glossary (code name → paper symbol):
 *   levels  → L, the number of Discrete Distribution Layers a sample passes
 *   k       → K, the number of output nodes (candidates) of a layer
 *   latent  → the L picked indices, L·log2(K) bits
 */
import { DdnError } from '../errors.js';
import { CONDITION_KINDS, type ConditionKind } from './condition.js';

export type Paradigm = 'single-shot' | 'recurrence';

/** One scale of the single-shot pyramid: side `size`, `blocks` DDLs. */
export interface ScaleConfig {
  size: number;
  channels: number;
  blocks: number;
  k: number;
}

export interface ModelConfig {
  /** Version of the saved layout; a model from another version is rejected. */
  formatVersion: number;
  paradigm: Paradigm;
  /** Side of the square images the model makes, a power of two. */
  imageSize: number;
  /** Image channels: 1 (gray) or 3 (RGB). */
  imageChannels: 1 | 3;
  /** Single-shot: the scales from 1×1 up to `imageSize`. */
  scales: ScaleConfig[];
  /** Recurrence: base channels of the UNet, doubled per downsampling. */
  unetChannels: number;
  /** Recurrence: number of 2× downsamplings in the UNet. */
  unetDepth: number;
  /** Recurrence: K of the one shared layer. */
  recurrenceK: number;
  /** Recurrence: how many times the shared UNet runs (L). */
  recurrenceLevels: number;
  /** Add the previous level's picked image to every candidate. */
  learningResidual: boolean;
  /** Feed a picked-node feature map to the next block as a condition. */
  leakChoice: boolean;
  /** Probability that a layer picks uniformly at random in training. */
  chainDropout: number;
  /** Split-and-Prune rule; 'off' trains with gradients alone. */
  splitPrune: 'tv' | 'paper' | 'off';
  /** Hand pruned counts to runner-up nodes instead of discarding them. */
  splitPruneRunnerUp: boolean;
  /** What the model is conditioned on; 'none' for an unconditional model. */
  condition: ConditionKind;
  /** Number of classes of a class-conditional model, else 0. */
  classCount: number;
}

export const FORMAT_VERSION = 1;

/** Options a user can set; everything else follows from them. */
export interface ModelOptions {
  paradigm?: Paradigm;
  imageSize?: number;
  imageChannels?: 1 | 3;
  /** K; in the pyramid the largest K of any scale. */
  k?: number;
  /** L; in the pyramid spread over the scales. */
  levels?: number;
  /** Widest channel count (pyramid) or UNet base channels (recurrence). */
  channels?: number;
  learningResidual?: boolean;
  leakChoice?: boolean;
  chainDropout?: number;
  splitPrune?: 'tv' | 'paper' | 'off';
  splitPruneRunnerUp?: boolean;
  condition?: ConditionKind;
  classCount?: number;
}

export const DEFAULT_OPTIONS = {
  paradigm: 'single-shot',
  imageSize: 32,
  imageChannels: 1,
  k: 64,
  levels: 10,
  channels: 32,
  chainDropout: 0.05,
  splitPrune: 'tv',
  splitPruneRunnerUp: false,
  condition: 'none',
  classCount: 0,
} as const;

/** Largest image side, as the --image-size option allows. */
const MAX_IMAGE_SIZE = 4096;

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

function clamp(x: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, x));
}

/**
 * Spreads `levels` blocks over the scales 1×1 … imageSize, giving the
 * finer scales more blocks (the coarse scales carry few bits each), but at
 * least one block per scale when levels allow. Widths shrink at the finest
 * scales, where convolutions cost the most.
 */
export function pyramidScales(
  imageSize: number,
  imageChannels: 1 | 3,
  maxK: number,
  levels: number,
  maxChannels: number,
): ScaleConfig[] {
  const scaleCount = Math.log2(imageSize) + 1;
  const blocks = new Array<number>(scaleCount).fill(0);

  if (levels < scaleCount) {
    // Too few levels for every scale: spread them evenly, always ending at
    // the full image side.
    for (let i = 0; i < levels; i++) {
      const s = levels === 1 ? scaleCount - 1 : Math.round((i * (scaleCount - 1)) / (levels - 1));
      blocks[s]++;
    }
  } else {
    // One block per scale, then the rest round-robin from the finest scale
    // downwards, never at 1×1 twice.
    blocks.fill(1);
    let left = levels - scaleCount;
    for (let s = scaleCount - 1; left > 0; s = s <= 1 ? scaleCount - 1 : s - 1) {
      blocks[s]++;
      left--;
    }
  }

  const scales: ScaleConfig[] = [];
  for (let s = 0; s < scaleCount; s++) {
    if (blocks[s] === 0) continue;
    const size = 2 ** s;
    // Halve the width per scale above 8×8 so the finest scales stay cheap.
    const channels = clamp(maxChannels >> Math.max(0, s - 3), 16, maxChannels);
    const k = clamp(maxK, 2, imageChannels === 3 ? 1024 : 2048);
    scales.push({ size, channels, blocks: blocks[s], k });
  }
  return scales;
}

/** Builds a full config from user options, validating every value. */
export function makeConfig(options: ModelOptions = {}): ModelConfig {
  const o = { ...DEFAULT_OPTIONS, ...stripUndefined(options) };
  const paradigm = o.paradigm;
  if (paradigm !== 'single-shot' && paradigm !== 'recurrence') {
    throw new DdnError(`invalid paradigm '${paradigm}': expected single-shot or recurrence`);
  }
  checkInteger('k', o.k, 2);
  checkInteger('levels', o.levels, 1);
  checkInteger('channels', o.channels, 4);
  if (!isPowerOfTwo(o.imageSize) || o.imageSize < 4 || o.imageSize > MAX_IMAGE_SIZE) {
    throw new DdnError(`invalid image size ${o.imageSize}: expected a power of two in [4, ${MAX_IMAGE_SIZE}]`);
  }
  if (o.imageChannels !== 1 && o.imageChannels !== 3) {
    throw new DdnError(`invalid image channels ${o.imageChannels}: expected 1 or 3`);
  }
  if (!(o.chainDropout >= 0 && o.chainDropout < 1)) {
    throw new DdnError(`invalid chain dropout ${o.chainDropout}: expected a probability in [0, 1)`);
  }
  if (!['tv', 'paper', 'off'].includes(o.splitPrune)) {
    throw new DdnError(`invalid split-prune rule '${o.splitPrune}': expected tv, paper or off`);
  }
  if (!CONDITION_KINDS.includes(o.condition)) {
    throw new DdnError(`invalid condition '${o.condition}': expected one of ${CONDITION_KINDS.join(', ')}`);
  }
  if (o.condition === 'class') checkInteger('class count', o.classCount, 2);
  const unetDepth = Math.min(3, Math.log2(o.imageSize) - 2);

  return {
    formatVersion: FORMAT_VERSION,
    paradigm,
    imageSize: o.imageSize,
    imageChannels: o.imageChannels,
    scales:
      paradigm === 'single-shot'
        ? pyramidScales(o.imageSize, o.imageChannels, o.k, o.levels, o.channels)
        : [],
    unetChannels: o.channels,
    unetDepth,
    recurrenceK: o.k,
    recurrenceLevels: o.levels,
    // The authors turn the residual off in the recurrence paradigm.
    learningResidual: options.learningResidual ?? paradigm === 'single-shot',
    leakChoice: options.leakChoice ?? true,
    // Chain dropout is off for K = 2, where it blurs the samples.
    chainDropout: o.k === 2 && options.chainDropout === undefined ? 0 : o.chainDropout,
    splitPrune: o.splitPrune,
    splitPruneRunnerUp: o.splitPruneRunnerUp,
    condition: o.condition,
    classCount: o.condition === 'class' ? o.classCount : 0,
  };
}

/** K of every level in order, [L]. */
export function levelKs(config: ModelConfig): number[] {
  if (config.paradigm === 'recurrence') {
    return new Array<number>(config.recurrenceLevels).fill(config.recurrenceK);
  }
  return config.scales.flatMap((s) => new Array<number>(s.blocks).fill(s.k));
}

/** Side of the image each level makes, [L]. */
export function levelSizes(config: ModelConfig): number[] {
  if (config.paradigm === 'recurrence') {
    return new Array<number>(config.recurrenceLevels).fill(config.imageSize);
  }
  return config.scales.flatMap((s) => new Array<number>(s.blocks).fill(s.size));
}

/** Bits of one latent: the sum over levels of log2(K). */
export function bitsPerImage(config: ModelConfig): number {
  return levelKs(config).reduce((sum, k) => sum + Math.log2(k), 0);
}

/** Checks a config read from disk, so a model from elsewhere fails early. */
export function validateConfig(value: unknown, source: string): ModelConfig {
  if (typeof value !== 'object' || value === null) {
    throw new DdnError(`${source}: expected a JSON object with the model config`);
  }
  const c = value as Partial<ModelConfig>;
  if (c.formatVersion !== FORMAT_VERSION) {
    throw new DdnError(
      `${source}: model format version ${JSON.stringify(c.formatVersion)} is not supported (expected ${FORMAT_VERSION})`,
    );
  }
  // Only 'scales' may be an object, so every other field can go into a message.
  for (const [key, field] of Object.entries(c)) {
    if (key !== 'scales' && typeof field === 'object' && field !== null) {
      throw new DdnError(`${source}: invalid '${key}': expected a number, string or boolean`);
    }
  }
  const scales: unknown = c.scales;
  const isFlatObject = (s: unknown) =>
    typeof s === 'object' && s !== null && Object.values(s).every((v) => typeof v !== 'object' || v === null);
  if (!Array.isArray(scales) || !scales.every(isFlatObject)) {
    throw new DdnError(`${source}: expected 'scales' to be a list of objects of numbers`);
  }
  const rebuilt = makeConfig({
    paradigm: c.paradigm,
    imageSize: c.imageSize,
    imageChannels: c.imageChannels,
    k: c.paradigm === 'recurrence' ? c.recurrenceK : Math.max(2, ...(scales as ScaleConfig[]).map((s) => s.k)),
    levels: c.paradigm === 'recurrence' ? c.recurrenceLevels : 1,
    channels: c.unetChannels,
    chainDropout: c.chainDropout,
    splitPrune: c.splitPrune,
    condition: c.condition ?? 'none',
    classCount: c.classCount ?? 0,
  });
  if (c.paradigm === 'single-shot') {
    if (!Array.isArray(c.scales) || c.scales.length === 0) {
      throw new DdnError(`${source}: a single-shot config needs a non-empty 'scales' list`);
    }
    for (const s of c.scales) {
      if (!isPowerOfTwo(s.size) || s.size > rebuilt.imageSize) {
        throw new DdnError(`${source}: invalid scale size ${JSON.stringify(s.size)}`);
      }
      checkInteger('scale channels', s.channels, 4);
      checkInteger('scale blocks', s.blocks, 1);
      checkInteger('scale k', s.k, 2);
    }
  } else {
    checkInteger('unetDepth', c.unetDepth, 0);
  }
  return {
    ...rebuilt,
    scales: c.paradigm === 'single-shot' ? (c.scales as ScaleConfig[]) : [],
    unetDepth: c.unetDepth ?? rebuilt.unetDepth,
    learningResidual: Boolean(c.learningResidual),
    leakChoice: Boolean(c.leakChoice),
    splitPruneRunnerUp: Boolean(c.splitPruneRunnerUp),
  };
}

function checkInteger(name: string, value: unknown, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new DdnError(`invalid ${name} ${JSON.stringify(value)}: expected an integer ≥ ${min}`);
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
