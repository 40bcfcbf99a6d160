/**
 * `npm run bench`: the project's models against their PyTorch twins
 * (bench/twin.py), in one run on one machine. Writes bench/RESULTS.json
 * and bench/RESULTS.md.
 *
 * Both sides run alternately round by round (TypeScript on 1 worker
 * thread, PyTorch with 1 and 2 threads, TypeScript on 2 workers), after
 * warm-up steps, so that a change in machine load hits every side alike.
 * Every figure is a median over all timed steps of all rounds.
 *
 * Run: npx --yes tsx bench/run.ts [--batch 32] [--chunk 8] [--rounds 3]
 *      [--steps 2] [--warmup 2] [--workers 2] [--memory-batch 16]
 *      [--python /usr/bin/python3] [--quick] [--skip-memory]
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';

import { initBackend } from '../src/backend/select.js';
import { Rng } from '../src/data/rng.js';
import { type ModelConfig, makeConfig } from '../src/model/config.js';
import { DdnModel } from '../src/model/model.js';
import { Adam } from '../src/train/adam.js';
import { ParallelTrainer } from '../src/train/parallel.js';
import { makeSplitPrunes } from '../src/train/step.js';
import { measureOps, type OpTimings, type TorchOpTimings } from './ops.js';
import { formatResults, type BenchResults, type ModelFigures } from './report.js';
import { TorchTwin } from './torchTwin.js';
import { median, timeSteps, timeStepsAsync } from './timing.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

interface BenchOptions {
  batch: number;
  rounds: number;
  steps: number;
  warmup: number;
  workers: number;
  python: string;
  skipMemory: boolean;
  memoryBatch: number;
  chunk: number;
}

function parseOptions(argv: string[]): BenchOptions {
  const value = (name: string, fallback: number): number => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isInteger(n) || n < 0) {
      throw new Error(`invalid --${name} ${argv[i + 1]}: expected a non-negative integer`);
    }
    return n;
  };
  const quick = argv.includes('--quick');
  const pythonIndex = argv.indexOf('--python');
  return {
    batch: value('batch', 32),
    rounds: value('rounds', quick ? 1 : 3),
    steps: value('steps', quick ? 1 : 2),
    warmup: value('warmup', quick ? 1 : 2),
    workers: value('workers', Math.min(2, availableParallelism())),
    python: pythonIndex >= 0 ? argv[pythonIndex + 1] : '/usr/bin/python3',
    skipMemory: argv.includes('--skip-memory'),
    memoryBatch: value('memory-batch', 16),
    chunk: value('chunk', 8),
  };
}

/** The two models of the benchmark: ddn train's MNIST defaults in each paradigm. */
const MODELS: { name: string; config: ModelConfig }[] = [
  { name: 'recurrence', config: makeConfig({ paradigm: 'recurrence', imageSize: 32, imageChannels: 1 }) },
  { name: 'single-shot', config: makeConfig({ paradigm: 'single-shot', imageSize: 32, imageChannels: 1 }) },
];
const LEARNING_RATE = 2e-3;

function randomImages(rng: Rng, count: number, length: number): Float32Array {
  return Float32Array.from({ length: count * length }, () => rng.next() * 2 - 1);
}

/** Times training and sampling of one model on every side, alternating round by round. */
async function benchModel(
  name: string,
  config: ModelConfig,
  options: BenchOptions,
  twin: TorchTwin,
): Promise<ModelFigures> {
  const { batch, rounds, steps, warmup, workers } = options;
  const imageLength = config.imageSize ** 2 * config.imageChannels;
  // Training runs on worker threads in both TypeScript setups, because
  // micro-batches (chunks) bound the memory of a pass: one process holding
  // every intermediate tensor of a batch of 32 overflows the 4 GiB wasm heap
  // with the recurrence model.
  const model = new DdnModel(config, 0);
  const params = model.params.count();
  await twin.build(name, config, params, LEARNING_RATE);
  const setups = await Promise.all(
    [1, workers].filter((w, i) => w > 0 && (i === 0 || w > 1)).map(async (count) => {
      const copy = new DdnModel(config, 0);
      const optimizer = new Adam(copy.params.list(), { learningRate: LEARNING_RATE });
      const trainer = await ParallelTrainer.create(copy, { workers: count, maxChunk: options.chunk });
      return { count, model: copy, optimizer, counters: makeSplitPrunes(copy), trainer };
    }),
  );

  const dataRng = new Rng(7);
  const stepRng = new Rng(8);
  const batches = Array.from({ length: 4 }, () => randomImages(dataRng, batch, imageLength));
  let next = 0;
  const nextBatch = () => batches[next++ % batches.length];

  const times = { ts: [] as number[], tsWorkers: [] as number[], torch1: [] as number[], torch2: [] as number[] };
  const sampleTimes = { ts: [] as number[], tsWorkers: [] as number[], torch1: [] as number[], torch2: [] as number[] };
  const sampleRng = new Rng(9);

  for (let round = 0; round < rounds; round++) {
    const warm = round === 0 ? warmup : 0;
    for (const setup of setups) {
      const stepTimes = await timeStepsAsync(warm, steps, () =>
        setup.trainer.step(setup.optimizer, setup.counters, nextBatch(), stepRng),
      );
      (setup.count === 1 ? times.ts : times.tsWorkers).push(...stepTimes);
      if (setup.count === 1) {
        times.torch1.push(...(await twin.train(name, 1, batch, warm, steps)));
        times.torch2.push(...(await twin.train(name, 2, batch, warm, steps)));
      }
    }
    sampleTimes.ts.push(...timeSteps(warm, steps, () => model.sample(batch, sampleRng, batch)));
    sampleTimes.torch1.push(...(await twin.sample(name, 1, batch, warm, steps)));
    sampleTimes.torch2.push(...(await twin.sample(name, 2, batch, warm, steps)));
    const parallel = setups.find((s) => s.count > 1);
    if (parallel !== undefined) {
      // Each worker decodes half of the batch.
      const half = Math.ceil(batch / parallel.count);
      sampleTimes.tsWorkers.push(
        ...(await timeStepsAsync(warm, steps, () => parallel.trainer.sample(batch, sampleRng, half))),
      );
    }
    console.log(`  ${name}: round ${round + 1}/${rounds} done (load ${loadavg()[0].toFixed(1)})`);
  }

  for (const setup of setups) {
    await setup.trainer.close();
    setup.optimizer.dispose();
    setup.model.dispose();
  }
  model.dispose();

  const perSecond = (ms: number[]) => (ms.length === 0 ? null : (batch * 1000) / median(ms));
  return {
    name,
    params,
    levels: model.levels,
    k: Math.max(...model.ks),
    train: {
      ts: perSecond(times.ts) as number,
      tsWorkers: perSecond(times.tsWorkers),
      torch1: perSecond(times.torch1) as number,
      torch2: perSecond(times.torch2) as number,
    },
    sample: {
      ts: perSecond(sampleTimes.ts) as number,
      tsWorkers: perSecond(sampleTimes.tsWorkers),
      torch1: perSecond(sampleTimes.torch1) as number,
      torch2: perSecond(sampleTimes.torch2) as number,
    },
  };
}

/** Peak memory of one training step at 64×64 RGB, each K in a fresh process. */
function measureMemory(ks: number[], batch: number): unknown[] {
  return ks.map((k) => {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, join(BENCH_DIR, 'memory.ts'), String(k), String(batch)],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (child.status !== 0) {
      const reason = child.stderr.trim().split('\n').filter((l) => /Error|Aborted/.test(l)).slice(-1)[0];
      return { k, batch, failed: `exit ${child.status}: ${reason ?? 'no error line'}` };
    }
    const lines = child.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  });
}

/** Returns whether @tensorflow/tfjs-node can be imported, and why not. */
async function nativeBackendStatus(): Promise<string> {
  try {
    const specifier: string = '@tensorflow/tfjs-node';
    await import(specifier);
    return 'importable (not measured by this run, which uses the wasm backend)';
  } catch (error) {
    const code = (error as { code?: string }).code;
    return code === 'ERR_MODULE_NOT_FOUND' ? 'not installed' : `failed to load: ${(error as Error).message}`;
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const loadBefore = loadavg();

  // Wasm's own Conv2DBackpropInput, kept before the project replaces it, for the before/after figures.
  const ownInputKernel = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  const backend = await initBackend('wasm');
  console.log(`bench: backend ${backend.name}, ${backend.threads} thread(s) per process, batch ${options.batch}`);

  const twin = await TorchTwin.start(options.python, join(BENCH_DIR, 'twin.py'));
  try {
    const models: ModelFigures[] = [];
    for (const { name, config } of MODELS) {
      console.log(`bench: ${name}`);
      models.push(await benchModel(name, config, options, twin));
    }

    console.log('bench: operations');
    const opRounds = Math.max(3, options.steps * 2);
    const opShape = { batch: options.batch, size: 32, channels: 32, k: 64, imageChannels: 1 };
    const ops: OpTimings = measureOps(opShape, ownInputKernel, options.warmup, opRounds);
    const torchOps: TorchOpTimings = {
      threads1: await twin.ops(1, opShape, options.warmup, opRounds),
      threads2: await twin.ops(2, opShape, options.warmup, opRounds),
    };

    const memory = options.skipMemory ? [] : (console.log('bench: memory'), measureMemory([64, 256, 512], options.memoryBatch));
    const results: BenchResults = {
      date: new Date().toISOString(),
      machine: {
        cpus: availableParallelism(),
        loadBefore: loadBefore.map((l) => Number(l.toFixed(2))),
        loadAfter: loadavg().map((l) => Number(l.toFixed(2))),
        node: process.version,
        torch: twin.version,
        torchDefaultThreads: twin.defaultThreads,
      },
      backend: backend.name,
      threadsPerProcess: backend.threads,
      workers: options.workers,
      nativeBackend: await nativeBackendStatus(),
      options: { batch: options.batch, chunk: options.chunk, rounds: options.rounds, steps: options.steps, warmup: options.warmup },
      train: headline(models[0], 'train'),
      sample: headline(models[0], 'sample'),
      models,
      ops: { shape: opShape, ts: ops, torch: torchOps },
      memory,
    };
    writeFileSync(join(BENCH_DIR, 'RESULTS.json'), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(BENCH_DIR, 'RESULTS.md'), formatResults(results));
    console.log(
      `bench: train ${results.train.ts.toFixed(1)} vs ${results.train.torch.toFixed(1)} images/s (ratio ${results.train.ratio.toFixed(2)}), ` +
        `sample ${results.sample.ts.toFixed(1)} vs ${results.sample.torch.toFixed(1)} images/s (ratio ${results.sample.ratio.toFixed(2)})`,
    );
    console.log('bench: wrote bench/RESULTS.md and bench/RESULTS.json');
  } finally {
    twin.close();
  }
}

/**
 * Returns the headline figures: the faster TypeScript setup (1 core or the
 * workers) against the faster PyTorch setup (1 or 2 threads).
 */
function headline(model: ModelFigures, task: 'train' | 'sample') {
  const f = model[task];
  const ts = Math.max(f.ts, f.tsWorkers ?? 0);
  const torch = Math.max(f.torch1, f.torch2);
  return { ts, torch, ratio: ts / torch, model: model.name };
}

await main();
