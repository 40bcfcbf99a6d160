/**
 * `ddn train`: trains a model on a dataset, with a progress bar, pictures and
 * a checkpoint every few minutes, and a clean save on Ctrl-C.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { SingleBar } from 'cli-progress';

import type { BackendName } from '../backend/select.js';
import { loadDataset } from '../data/load.js';
import type { Dataset } from '../data/types.js';
import { DdnError } from '../errors.js';
import { CHECKPOINT_FILE } from '../io/checkpoint.js';
import { CONFIG_FILE, saveModel } from '../io/modelDir.js';
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
  backend?: BackendName;
  progress: boolean;
}

export async function trainCommand(o: TrainCommandOptions, out: Output): Promise<void> {
  const backend = await startBackend(o.backend, out);
  const hasRun = existsSync(join(o.out, CHECKPOINT_FILE)) || existsSync(join(o.out, CONFIG_FILE));
  if (hasRun && !o.resume) {
    throw new DdnError(
      `${o.out} already holds a run; pass --resume to continue it, or choose another --out`,
    );
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
        makeConfig({ ...o, imageSize: dataset.height, imageChannels: dataset.channels }),
        dataset,
        { batchSize: o.batch, learningRate: o.lr, seed: o.seed },
      );
  const config = run.model.config;
  out.note(
    `model: ${config.paradigm}, L = ${run.model.levels}, K = ${Math.max(...run.model.ks)}, ` +
      `${run.model.params.count().toLocaleString('en-US')} parameters, ${bitsPerImage(config).toFixed(0)} bits per image` +
      (o.resume ? `, resumed at step ${run.step}` : ''),
  );
  await mkdir(o.out, { recursive: true });
  // Steps logged after the checkpoint are trained again, so their lines go.
  const log = o.resume ? (await readLog(join(o.out, LOG_FILE))).filter((e) => e.step <= run.step) : [];
  await writeFile(join(o.out, LOG_FILE), log.map((e) => `${JSON.stringify(e)}\n`).join(''));

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
  const snapshot = async () => {
    await saveModel(run.model, o.out, {
      data: dataset.name,
      steps: run.step,
      batch: run.options.batchSize,
      seconds: run.secondsBefore + seconds(),
      backend: backend.name,
    });
    await run.saveCheckpoint(o.out, seconds());
    const paths = artifactPaths(o.out);
    await writeSampleGrid(run.model, paths.samples, 64, 0);
    const shown = Math.min(32, heldOut.count);
    const length = heldOut.height * heldOut.width * heldOut.channels;
    const rec = await writeReconstructionGrid(
      run.model,
      heldOut.images.subarray(0, shown * length),
      shown,
      paths.reconstructions,
    );
    await writeLossCurve(log, o.out);
    return rec.psnr;
  };

  const totalSteps = o.steps;
  const bar = o.progress
    ? new SingleBar({
        format:
          'train |{bar}| {value}/{total} steps | loss {loss} | splits {splits} | {speed} img/s | ETA {eta_formatted}',
        stream: process.stderr,
        hideCursor: true,
        etaBuffer: 50,
      })
    : null;
  bar?.start(totalSteps, run.step, { loss: '-', splits: run.splitCount, speed: '-' });

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
          throw new DdnError(
            `training stopped at step ${run.step + 1}: ${error.message}; the last checkpoint in ${o.out} is kept (try a lower --lr)`,
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
      const speed = (run.options.batchSize * log.filter((e) => e.step > run.step - 20).length) /
        Math.max(1e-3, recentSeconds(log, run.step));
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

  const last = log.slice(-50);
  const meanLoss = last.reduce((s, e) => s + e.loss, 0) / Math.max(1, last.length);
  out.result(
    `${stopReason} at step ${run.step}: loss ${meanLoss.toFixed(4)} (mean of the last ${last.length} steps), ` +
      `held-out reconstruction PSNR ${lastPsnr.toFixed(2)} dB, ${run.splitCount} splits, ` +
      `${((run.secondsBefore + seconds()) / 60).toFixed(1)} min`,
  );
  out.result(`saved the model, checkpoint, samples.png, reconstructions.png and loss.svg in ${o.out}`);
  run.dispose();
}

/** Seconds between the log entry 20 steps ago and the latest one. */
function recentSeconds(log: (LogEntry & { seconds?: number })[], step: number): number {
  const recent = log.filter((e) => e.step > step - 20);
  if (recent.length < 2) return NaN;
  const first = recent[0].seconds ?? 0;
  const last = recent[recent.length - 1].seconds ?? 0;
  return ((last - first) * recent.length) / (recent.length - 1);
}

/** The held-out split where the data has one, else the training images. */
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
