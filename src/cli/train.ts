/**
 * `ddn train`: trains a model on a dataset, with a progress bar, pictures and
 * a checkpoint every few minutes, and a clean save on Ctrl-C.
 *
 * Every snapshot writes the checkpoint first, then the model folder, then
 * the pictures, each file atomically, so a kill at any moment leaves the
 * last complete checkpoint. SIGINT or SIGTERM finishes the current step,
 * saves and exits 0. A non-finite loss stops without saving, so the last
 * checkpoint keeps the last good weights.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

import * as tf from '@tensorflow/tfjs-core';
import { SingleBar } from 'cli-progress';

import type { BackendName } from '../backend/select.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { CHECKPOINT_FILE, removeStaleTemporaryFiles } from '../io/checkpoint.js';
import { CONFIG_FILE, loadModel, saveModel } from '../io/modelDir.js';
import { type ModelOptions, bitsPerImage, makeConfig } from '../model/config.js';
import {
  type LogEntry,
  artifactPaths,
  writeLossCurve,
  writeReconstructionGrid,
  writeSampleGrid,
} from '../train/artifacts.js';
import { TrainingRun } from '../train/run.js';
import { NonFiniteLossError } from '../train/step.js';
import { startBackend } from './backend.js';
import type { Output } from './output.js';
import { choosePrior, writeNodePrior } from './prior.js';

export const LOG_FILE = 'log.jsonl';

export interface TrainCommandOptions extends ModelOptions {
  data: string;
  out: string;
  steps: number;
  batch: number;
  lr: number;
  seed: number;
  resume: boolean;
  /** Stop after this many minutes even if steps remain. */
  minutes?: number;
  /** Minutes between pictures and checkpoints. */
  snapshotMinutes: number;
  /** Step-named checkpoints kept besides the latest and the best; 0 keeps none. */
  keep: number;
  backend?: BackendName;
  progress: boolean;
  /** Measure node usage at the end of a class-conditional run (node-prior.json). */
  prior: boolean;
}

/** Images that the node usage of a class-conditional run is measured on when training ends. */
const PRIOR_IMAGES = 10_000;

export async function trainCommand(o: TrainCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const hasRun = existsSync(join(o.out, CHECKPOINT_FILE)) || existsSync(join(o.out, CONFIG_FILE));
  if (hasRun && !o.resume) {
    throw new DdnError(
      `${o.out} already holds a run; pass --resume to continue it, or choose another --out`,
    );
  }
  if (!hasRun) {
    // A folder that is not a run may still hold files of the same names.
    const inTheWay = [...Object.values(artifactPaths(o.out)), join(o.out, LOG_FILE)].filter((path) => existsSync(path));
    if (inTheWay.length > 0) {
      throw new DdnError(
        `${o.out} is not a ddn run but contains ${inTheWay.map((path) => basename(path)).join(', ')}, which training ` +
          'would overwrite; choose another --out or move them',
      );
    }
  }

  // Data: the train split, and held-out images for reconstructions.
  const dataset = await loadDataset(o.data, { split: 'train', imageSize: o.imageSize });
  const heldOut = await loadHeldOut(o.data, dataset, o.imageSize);
  out.note(
    `data: ${dataset.name}, ${dataset.count} images ${dataset.height}×${dataset.width}×${dataset.channels}` +
      (heldOut.name === dataset.name ? '' : `, held-out ${heldOut.name} for reconstructions`),
  );

  const run = o.resume
    ? await TrainingRun.resume(o.out, dataset)
    : TrainingRun.create(
        makeConfig({
          ...o,
          imageSize: dataset.height,
          imageChannels: dataset.channels,
          classCount: o.condition === 'class' ? datasetClassCount(dataset) : 0,
        }),
        dataset,
        { batchSize: o.batch, learningRate: o.lr, seed: o.seed },
      );
  const config = run.model.config;
  out.note(
    `model: ${config.paradigm}, L = ${run.model.levels}, K = ${Math.max(...run.model.ks)}, ` +
      `${run.model.params.count().toLocaleString('en-US')} parameters, ${bitsPerImage(config).toFixed(0)} bits per image` +
      (o.resume ? `, resumed at step ${run.step}` : ''),
  );
  if (run.resumedFrom !== undefined) noteResumeDifferences(run, o, out);
  await mkdir(o.out, { recursive: true });
  const removed = await removeStaleTemporaryFiles(o.out);
  if (removed.length > 0) out.note(`removed ${removed.length} temporary file(s) left by a killed run`);
  // Steps logged after the checkpoint are trained again, so their lines go.
  const log = o.resume ? (await readLog(join(o.out, LOG_FILE))).filter((e) => e.step <= run.step) : [];
  await writeFileAtomic(join(o.out, LOG_FILE), log.map((e) => `${JSON.stringify(e)}\n`).join(''));

  // Ctrl-C or a termination request: finish the step, save, exit cleanly.
  let stopSignal: string | null = null;
  const onSignal = (signal: string) => {
    if (stopSignal !== null) process.exit(130);
    stopSignal = signal;
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  let savedStep: number | null = o.resume ? run.step : null;
  const snapshot = async () => {
    // The checkpoint first: it is what --resume needs, and saving it
    // checks that no weight is NaN or infinite.
    const saved = await run.saveCheckpoint(o.out, seconds(), { keep: o.keep, loss: recentMeanLoss(log) });
    await saveModel(run.model, o.out, {
      data: dataset.name,
      steps: run.step,
      batch: run.options.batchSize,
      seconds: run.secondsBefore + seconds(),
      backend: backend.name,
    });
    savedStep = run.step;
    if (bar === null) {
      out.note(`checkpoint: step ${run.step} saved to ${saved.path}${saved.best ? ' (best loss so far)' : ''}`);
    }
    bar?.update({ saved: run.step });

    const paths = artifactPaths(o.out);
    await writeSampleGrid(run.model, paths.samples, 64, 0, heldOut);
    const shown = Math.min(32, heldOut.count);
    const length = heldOut.height * heldOut.width * heldOut.channels;
    const rec = await writeReconstructionGrid(
      run.model,
      heldOut.images.subarray(0, shown * length),
      shown,
      paths.reconstructions,
      heldOut.labels,
    );
    await writeLossCurve(log, o.out);
    return rec.psnr;
  };

  const totalSteps = o.steps;
  const bar = o.progress
    ? new SingleBar({
        format:
          'train |{bar}| {value}/{total} steps | loss {loss} | splits {splits} | {speed} img/s | ' +
          'saved step {saved} | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      })
    : null;
  bar?.start(totalSteps, run.step, { loss: '-', splits: run.splitCount, speed: '-', saved: savedStep ?? '-' });

  let lastSnapshot = Date.now();
  let lastPsnr = NaN;
  let stopReason = 'done';
  try {
    while (run.step < totalSteps) {
      if (stopSignal !== null) {
        stopReason = `stopped by ${stopSignal}`;
        break;
      }
      if (o.minutes !== undefined && seconds() > o.minutes * 60) {
        stopReason = `time limit of ${o.minutes} min reached`;
        break;
      }
      let result;
      try {
        result = run.trainOneStep();
      } catch (error) {
        if (error instanceof NonFiniteLossError) {
          // Nothing is saved here, so the last checkpoint keeps good weights.
          const checkpointNote =
            savedStep === null
              ? 'no checkpoint was saved yet'
              : `the checkpoint of step ${savedStep} in ${o.out} is kept`;
          throw new DdnError(
            `training stopped at step ${run.step + 1}: ${error.message}; ${checkpointNote} (try a lower --lr)`,
          );
        }
        throw error;
      }
      const entry: LogEntry & { splits: number; seconds: number } = {
        step: run.step,
        loss: result.loss,
        levelLosses: result.levelLosses,
        splits: run.splitCount,
        seconds: run.secondsBefore + seconds(),
      };
      log.push(entry);
      await appendFile(join(o.out, LOG_FILE), `${JSON.stringify(entry)}\n`);
      const speed = imagesPerSecond(log, run.options.batchSize);
      bar?.update(run.step, {
        loss: result.loss.toFixed(4),
        splits: run.splitCount,
        speed: Number.isFinite(speed) ? speed.toFixed(1) : '-',
      });
      if (Date.now() - lastSnapshot > o.snapshotMinutes * 60_000) {
        lastPsnr = await snapshot();
        lastSnapshot = Date.now();
      }
    }
    lastPsnr = await snapshot();
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const minutes = ((run.secondsBefore + seconds()) / 60).toFixed(1);
  if (stopSignal !== null) {
    // One line, so a script that sends the signal can read where it went.
    out.result(
      `${stopReason} at step ${run.step}: saved the checkpoint and model in ${o.out} ` +
        `(${minutes} min); continue with --resume`,
    );
  } else {
    const last = log.slice(-50);
    out.result(
      `${stopReason} at step ${run.step}: loss ${recentMeanLoss(log).toFixed(4)} ` +
        `(mean of the last ${last.length} steps), held-out reconstruction PSNR ` +
        `${lastPsnr.toFixed(2)} dB, ${run.splitCount} splits, ${minutes} min`,
    );
    out.result(`saved the model, checkpoint, samples.png, reconstructions.png and loss.svg in ${o.out}`);
    if (config.condition === 'class' && o.prior) {
      await writePriorAndSamples(o, heldOut, out);
    }
  }
  run.dispose();
}

/**
 * Measures the node usage of a finished class-conditional run, which
 * `ddn sample` then draws by (README, Conditional models), and draws
 * samples.png again with it.
 */
async function writePriorAndSamples(o: TrainCommandOptions, heldOut: Dataset, out: Output): Promise<void> {
  const { model, file } = await loadModel(o.out);
  try {
    await writeNodePrior({ model, file }, { model: o.out, data: o.data, images: PRIOR_IMAGES }, out);
    const prior = await choosePrior(model, file, o.out, 'usage', 1, out);
    await writeSampleGrid(model, artifactPaths(o.out).samples, 64, 0, heldOut, prior);
    out.result(`samples.png drawn again with nodes picked by usage; skip this step with --no-prior`);
  } finally {
    model.dispose();
  }
}

/** Mean loss of the last 50 logged steps; NaN when nothing is logged. */
function recentMeanLoss(log: LogEntry[]): number {
  const last = log.slice(-50);
  return last.reduce((sum, e) => sum + e.loss, 0) / last.length;
}

/**
 * Notes where a resumed run differs from what the options ask for: the
 * saved batch, learning rate and seed win, and another backend continues
 * with slightly different losses.
 */
function noteResumeDifferences(run: TrainingRun, o: TrainCommandOptions, out: Output): void {
  const saved = run.options;
  if (saved.batchSize !== o.batch || saved.learningRate !== o.lr || saved.seed !== o.seed) {
    out.note(
      `note: resuming with the run's own --batch ${saved.batchSize}, --lr ${saved.learningRate} ` +
        `and --seed ${saved.seed}; the values given are ignored`,
    );
  }
  // Both names come from tf.getBackend().
  const savedBackend = run.resumedFrom?.backend;
  const backend = tf.getBackend();
  if (savedBackend !== undefined && savedBackend !== backend) {
    out.note(
      `note: the run was trained on the ${savedBackend} backend; continuing on ${backend} ` +
        'gives slightly different losses than an uninterrupted run',
    );
  }
}

/** Training speed over the last 20 logged steps, from their wall times. */
function imagesPerSecond(log: (LogEntry & { seconds?: number })[], batchSize: number): number {
  const recent = log.slice(-21);
  if (recent.length < 2) return NaN;
  const elapsed = (recent[recent.length - 1].seconds ?? 0) - (recent[0].seconds ?? 0);
  return elapsed > 0 ? (batchSize * (recent.length - 1)) / elapsed : NaN;
}

/** Loads the held-out split where the data has one, else returns the training images. */
async function loadHeldOut(spec: string, train: Dataset, imageSize?: number): Promise<Dataset> {
  if (spec === 'mnist' || spec === 'fashion-mnist') {
    return loadDataset(spec, { split: 'test', imageSize, limit: 256 });
  }
  return train;
}

async function readLog(path: string): Promise<LogEntry[]> {
  if (!existsSync(path)) return [];
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const entries: LogEntry[] = [];
  for (const line of lines) {
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      // A line cut short by a hard kill is skipped.
    }
  }
  return entries;
}

/** Classes of a labelled dataset: its class names, else the largest label + 1. */
function datasetClassCount(dataset: Dataset): number {
  if (dataset.labels === undefined) {
    throw new DdnError(
      `${dataset.name}: --condition class needs labels (mnist, fashion-mnist, an IDX file with its labels file, or one sub-folder per class)`,
    );
  }
  let max = 0;
  for (const label of dataset.labels) max = Math.max(max, label);
  return dataset.classNames?.length ?? max + 1;
}
