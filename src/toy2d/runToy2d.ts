/**
 * The 2-D density experiment (paper Fig. 5 and Fig. 19 of "Discrete
 * Distribution Networks", ICLR 2025): fit K nodes to a density, then
 * compare the node histogram and K real samples against the ground truth.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { DdnError } from '../errors.js';
import { loadDensity } from './densities.js';
import { divergences, histogram, type Divergences } from './metrics.js';
import { maxOf, renderMass, writeComparePng, writeGif } from './render.js';
import { Rng } from './rng.js';
import { DensitySampler } from './sampler.js';
import {
  DEFAULT_LEARNING_RATE,
  trainNodes,
  type SplitPruneMode,
} from './trainer.js';

export interface Toy2dOptions {
  /** Built-in density name, or the path of a grayscale image. */
  density: string;
  /** Number of nodes, K. */
  k: number;
  iters: number;
  /** Samples per iteration. */
  batch: number;
  splitPrune: SplitPruneMode;
  /** Cells per side of the density grid used for sampling and metrics. */
  bins: number;
  seed: number;
  /** Folder for metrics.json, compare.png and training.gif. */
  outDir: string;
  /** Also write training.gif, the node histogram during training. */
  gif: boolean;
  /** Hand pruned counts to runner-up nodes. Default false. */
  runnerUp?: boolean;
  /** SGD learning rate in (0, 0.5]. Default 0.05. */
  learningRate?: number;
  onProgress?: (iter: number, iters: number) => void;
}

/** Contents of metrics.json. */
export interface Toy2dResult {
  /** Node histogram against the ground truth. */
  ddn: Divergences;
  /** K real samples from the ground truth against the ground truth. */
  real: Divergences;
  /** Training time in seconds, without the metrics and the pictures. */
  seconds: number;
  k: number;
  iters: number;
  splitPrune: SplitPruneMode;
  runnerUp: boolean;
  splits: number;
  density: string;
  batch: number;
  bins: number;
  seed: number;
  learningRate: number;
  /** Left to right in compare.png. */
  comparePanels: ['ground truth', 'real samples', 'ddn nodes'];
}

/** Frames in training.gif and their pixels per cell side. */
const GIF_FRAMES = 50;
const GIF_SCALE = 2;
const GIF_DELAY_MS = 100;

/**
 * Trains K nodes on a density and writes DIR/metrics.json and
 * DIR/compare.png (and DIR/training.gif with `gif`). Throws DdnError for
 * invalid options or an unreadable density image.
 */
export async function runToy2d(options: Toy2dOptions): Promise<Toy2dResult> {
  checkOptions(options);
  const { k, iters, batch, bins, seed } = options;
  const learningRate = options.learningRate ?? DEFAULT_LEARNING_RATE;
  const density = await loadDensity(options.density, bins);
  await mkdir(options.outDir, { recursive: true });

  // Training, with a GIF frame every iters / GIF_FRAMES iterations.
  const frames: Uint8Array[] = [];
  const densityMax = maxOf(density.mass);
  const frameEvery = Math.max(1, Math.floor(iters / GIF_FRAMES));
  const started = performance.now();
  const trained = trainNodes(
    density,
    {
      k,
      iters,
      batch,
      splitPrune: options.splitPrune,
      runnerUp: options.runnerUp ?? false,
      learningRate,
      frameEvery: options.gif ? frameEvery : undefined,
      onFrame: (_iter, xs, ys) => {
        const nodeMass = histogram(xs, ys, bins);
        frames.push(renderMass(nodeMass, bins, densityMax, GIF_SCALE));
      },
      onProgress: options.onProgress,
    },
    new Rng(seed),
  );
  const seconds = (performance.now() - started) / 1000;

  // Metrics of the nodes and of K real samples, on the same cells.
  const nodeMass = histogram(trained.xs, trained.ys, bins);
  const realXs = new Float64Array(k);
  const realYs = new Float64Array(k);
  new DensitySampler(density).draw(new Rng(seed + 1), k, realXs, realYs);
  const realMass = histogram(realXs, realYs, bins);

  const result: Toy2dResult = {
    ddn: divergences(nodeMass, density),
    real: divergences(realMass, density),
    seconds,
    k,
    iters,
    splitPrune: options.splitPrune,
    runnerUp: options.runnerUp ?? false,
    splits: trained.splits,
    density: density.name,
    batch,
    bins,
    seed,
    learningRate,
    comparePanels: ['ground truth', 'real samples', 'ddn nodes'],
  };

  // Outputs.
  await writeFile(
    join(options.outDir, 'metrics.json'),
    JSON.stringify(result, null, 2) + '\n',
  );
  await writeComparePng(
    join(options.outDir, 'compare.png'),
    [density.mass, realMass, nodeMass],
    bins,
  );
  if (options.gif && frames.length > 0) {
    await writeGif(
      join(options.outDir, 'training.gif'),
      frames,
      bins * GIF_SCALE,
      GIF_DELAY_MS,
    );
  }
  return result;
}

function checkOptions(options: Toy2dOptions): void {
  const positiveIntegers: [string, number][] = [
    ['k', options.k],
    ['iters', options.iters],
    ['batch', options.batch],
  ];
  for (const [name, value] of positiveIntegers) {
    if (!Number.isInteger(value) || value < 1) {
      throw new DdnError(`toy2d: ${name} must be a positive integer, got ${value}.`);
    }
  }
  if (options.k < 2) {
    throw new DdnError(`toy2d: k must be at least 2 nodes, got ${options.k}.`);
  }
  if (!Number.isInteger(options.bins) || options.bins < 2) {
    throw new DdnError(
      `toy2d: bins must be an integer ≥ 2, got ${options.bins}.`,
    );
  }
  if (!Number.isInteger(options.seed)) {
    throw new DdnError(`toy2d: seed must be an integer, got ${options.seed}.`);
  }
  const modes: SplitPruneMode[] = ['tv', 'paper', 'off'];
  if (!modes.includes(options.splitPrune)) {
    throw new DdnError(
      `toy2d: splitPrune must be one of ${modes.join(', ')}, ` +
        `got '${String(options.splitPrune)}'.`,
    );
  }
  const learningRate = options.learningRate ?? DEFAULT_LEARNING_RATE;
  if (!(learningRate > 0 && learningRate <= 0.5)) {
    throw new DdnError(
      `toy2d: learning rate must be in (0, 0.5], got ${learningRate}.`,
    );
  }
}
