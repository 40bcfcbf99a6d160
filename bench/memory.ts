/**
 * Peak memory at 64×64 RGB for one K, in a fresh process (the wasm heap
 * only grows, so its size after the work is that work's peak).
 *
 * Run: npx --yes tsx bench/memory.ts K BATCH
 * Prints one JSON line:
 *   step: resident set size (RSS) after building the single-shot model, and
 *     the peak RSS, wasm heap and peak tensor bytes of one training step;
 *   head: peak tensor bytes and wasm heap growth of the finest level's
 *     distances alone, through the Gram expansion and directly (each
 *     measured in its own child).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';

import { initBackend } from '../src/backend/select.js';
import { Rng } from '../src/data/rng.js';
import { makeConfig } from '../src/model/config.js';
import { DdnModel } from '../src/model/model.js';
import { directSquaredDistances, gramSquaredDistances } from '../src/model/nodeDistances.js';
import { Adam } from '../src/train/adam.js';
import { makeSplitPrunes, trainStep } from '../src/train/step.js';

const MIB = 2 ** 20;
const SIZE = 64;
const CHANNELS = 3;

function wasmHeapBytes(): number {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8: Uint8Array } };
  return backend.wasm?.HEAPU8.length ?? 0;
}

function maxRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

async function measureStep(k: number, batch: number) {
  const config = makeConfig({ paradigm: 'single-shot', imageSize: SIZE, imageChannels: CHANNELS, k });
  const model = new DdnModel(config, 0);
  const optimizer = new Adam(model.params.list(), { learningRate: 1e-3 });
  const rng = new Rng(1);
  const images = Float32Array.from({ length: batch * SIZE * SIZE * CHANNELS }, () => rng.next() * 2 - 1);
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = wasmHeapBytes();
  const bytesBefore = tf.memory().numBytes;
  const start = performance.now();
  const profile = await tf.profile(() => {
    trainStep(model, optimizer, makeSplitPrunes(model), images, rng);
  });
  const seconds = (performance.now() - start) / 1000;
  return {
    tensorPeakMiB: (profile.peakBytes - bytesBefore) / MIB,
    params: model.params.count(),
    finestScale: config.scales[config.scales.length - 1],
    rssBeforeMiB: rssBefore / MIB,
    rssPeakMiB: maxRssBytes() / MIB,
    wasmHeapBeforeMiB: heapBefore / MIB,
    wasmHeapAfterMiB: wasmHeapBytes() / MIB,
    stepSeconds: seconds,
  };
}

/**
 * Peak tensor bytes (tfjs engine count) and wasm heap growth of one distance
 * computation at the finest scale.
 */
async function measureHead(k: number, batch: number, form: 'gram' | 'direct') {
  const config = makeConfig({ paradigm: 'single-shot', imageSize: SIZE, imageChannels: CHANNELS, k });
  const finest = config.scales[config.scales.length - 1];
  const nodeChannels = Math.floor(finest.channels / 2);
  const features = tf.randomNormal([batch, SIZE, SIZE, nodeChannels]) as tf.Tensor4D;
  const weights = tf.randomNormal([nodeChannels, finest.k, CHANNELS]);
  const residual = tf.randomUniform([batch, SIZE, SIZE, CHANNELS], -1, 1) as tf.Tensor4D;
  const heapBefore = wasmHeapBytes();
  const bytesBefore = tf.memory().numBytes;
  const start = performance.now();
  const profile = await tf.profile(() => {
    const distances = form === 'gram'
      ? gramSquaredDistances(features, weights, residual)
      : directSquaredDistances(features, weights, residual);
    distances.dataSync();
    distances.dispose();
  });
  return {
    form,
    k: finest.k,
    tensorPeakMiB: (profile.peakBytes - bytesBefore) / MIB,
    growthMiB: (wasmHeapBytes() - heapBefore) / MIB,
    seconds: (performance.now() - start) / 1000,
  };
}

/** Runs this script again in a child for one head form, so that each gets a fresh wasm heap. */
function headInChild(k: number, batch: number, form: 'gram' | 'direct'): unknown {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), String(k), String(batch), form],
    { encoding: 'utf8' },
  );
  if (child.status !== 0) {
    return { form, failed: child.stderr.trim().split('\n').slice(-3).join(' ') };
  }
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

async function main(): Promise<void> {
  const [kText, batchText, form] = process.argv.slice(2);
  const k = Number(kText);
  const batch = Number(batchText ?? 32);
  if (!Number.isInteger(k) || k < 2 || !Number.isInteger(batch) || batch < 1) {
    throw new Error(`usage: memory.ts K BATCH [gram|direct], got '${process.argv.slice(2).join(' ')}'`);
  }
  await initBackend('wasm');
  if (form === 'gram' || form === 'direct') {
    console.log(JSON.stringify(await measureHead(k, batch, form)));
    return;
  }
  const step = await measureStep(k, batch);
  const head = [headInChild(k, batch, 'gram'), headInChild(k, batch, 'direct')];
  console.log(JSON.stringify({ k, batch, size: SIZE, channels: CHANNELS, step, head }));
}

await main();
