/**
 * `npm run bench`: the project's models against their PyTorch twins
 * (bench/twin.py), in one run on one machine. Writes bench/RESULTS.json
 * and bench/RESULTS.md.
 *
 * Both sides run alternately round by round, after warm-up steps, so that a
 * change in machine load hits every side alike: TypeScript with the wasm
 * kernels, then with the native kernels on 1 thread and on every core, and
 * PyTorch with 1 and 2 threads.
 * Every figure is a median over all timed steps of all rounds.
 *
 * Run: npx --yes tsx bench/run.ts [--batch 32] [--chunk 8] [--rounds 3]
 *      [--steps 2] [--warmup 2] [--threads CORES] [--memory-batch 16]
 *      [--python /usr/bin/python3] [--quick] [--skip-memory]
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs-core';

import { setNativeThreads } from '../src/backend/nativeKernels.js';
import { initBackend } from '../src/backend/select.js';
import { Rng } from '../src/data/rng.js';
import { type ModelConfig, makeConfig } from '../src/model/config.js';
import { DdnModel } from '../src/model/model.js';
import { Adam } from '../src/train/adam.js';
import { ParallelTrainer } from '../src/train/parallel.js';
import { makeSplitPrunes } from '../src/train/step.js';
import { measureNativeOps, measureOps, type OpTimings, type TorchOpTimings } from './ops.js';
import { formatResults, type BenchResults, type ModelFigures } from './report.js';
import { TorchTwin } from './torchTwin.js';
import { median, timeSteps, timeStepsAsync } from './timing.js';

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

interface BenchOptions {
  batch: number;
  rounds: number;
  steps: number;
  warmup: number;
  /** Threads of the native convolutions in the "every core" setup. */
  nativeThreads: number;
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
    nativeThreads: value('threads', availableParallelism()),
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
  const { batch, rounds, steps, warmup, nativeThreads } = options;
  const imageLength = config.imageSize ** 2 * config.imageChannels;
  // Training runs on worker threads in both TypeScript setups, because
  // micro-batches (chunks) bound the memory of a pass: one process holding
  // every intermediate tensor of a batch of 32 overflows the 4 GiB wasm heap
  // with the recurrence model.
  const model = new DdnModel(config, 0);
  const params = model.params.count();
  await twin.build(name, config, params, LEARNING_RATE);
  // Three TypeScript setups, each training on its own worker: the wasm
  // kernels, then the native convolutions on 1 thread and on every core.
  const setupSpecs = [
    { key: 'wasm' as const, nativeThreads: 0 },
    { key: 'native1' as const, nativeThreads: 1 },
    { key: 'native' as const, nativeThreads },
  ];
  const setups = await Promise.all(
    setupSpecs.map(async (spec) => {
      const copy = new DdnModel(config, 0);
      const optimizer = new Adam(copy.params.list(), { learningRate: LEARNING_RATE });
      const trainer = await ParallelTrainer.create(copy, {
        workers: 1,
        // As ddn train runs them (src/train/run.ts): the recurrence model in
        // chunks, the single-shot model's whole batch in one pass.
        maxChunk: config.paradigm === 'recurrence' ? options.chunk : Infinity,
        nativeThreads: spec.nativeThreads,
      });
      return { ...spec, model: copy, optimizer, counters: makeSplitPrunes(copy), trainer };
    }),
  );

  const dataRng = new Rng(7);
  const stepRng = new Rng(8);
  const batches = Array.from({ length: 4 }, () => randomImages(dataRng, batch, imageLength));
  let next = 0;
  const nextBatch = () => batches[next++ % batches.length];

  const series = () => ({ wasm: [] as number[], native1: [] as number[], native: [] as number[], torch1: [] as number[], torch2: [] as number[] });
  const times = series();
  const sampleTimes = series();
  const sampleRng = new Rng(9);

  for (let round = 0; round < rounds; round++) {
    const warm = round === 0 ? warmup : 0;
    for (const setup of setups) {
      times[setup.key].push(
        ...(await timeStepsAsync(warm, steps, () =>
          setup.trainer.step(setup.optimizer, setup.counters, nextBatch(), stepRng),
        )),
      );
    }
    times.torch1.push(...(await twin.train(name, 1, batch, warm, steps)));
    times.torch2.push(...(await twin.train(name, 2, batch, warm, steps)));

    // Sampling runs in the main thread, the native kernels switched per setup.
    for (const spec of setupSpecs) {
      setNativeThreads(spec.nativeThreads);
      sampleTimes[spec.key].push(...timeSteps(warm, steps, () => model.sample(batch, sampleRng, batch)));
    }
    setNativeThreads(nativeThreads);
    sampleTimes.torch1.push(...(await twin.sample(name, 1, batch, warm, steps)));
    sampleTimes.torch2.push(...(await twin.sample(name, 2, batch, warm, steps)));
    console.log(`  ${name}: round ${round + 1}/${rounds} done (load ${loadavg()[0].toFixed(1)})`);
  }

  for (const setup of setups) {
    await setup.trainer.close();
    setup.optimizer.dispose();
    setup.model.dispose();
  }
  model.dispose();

  const perSecond = (ms: number[]) => (batch * 1000) / median(ms);
  const throughput = (t: ReturnType<typeof series>) => ({
    wasm: perSecond(t.wasm),
    native1: perSecond(t.native1),
    native: perSecond(t.native),
    torch1: perSecond(t.torch1),
    torch2: perSecond(t.torch2),
  });
  return {
    name,
    params,
    levels: model.levels,
    k: Math.max(...model.ks),
    train: throughput(times),
    sample: throughput(sampleTimes),
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
  if (backend.native === undefined || !('threads' in backend.native)) {
    const reason = backend.native !== undefined && 'reason' in backend.native ? backend.native.reason : 'not on wasm';
    throw new Error(`the native convolutions are not available (${reason}); run npm run build first`);
  }
  console.log(
    `bench: backend ${backend.name}, ${backend.threads} thread(s) per process, native convolutions on 1 and ` +
      `${options.nativeThreads} threads, batch ${options.batch}`,
  );

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
    setNativeThreads(0);
    const ops: OpTimings = measureOps(opShape, ownInputKernel, options.warmup, opRounds);
    setNativeThreads(1);
    const native1 = measureNativeOps(opShape, 1, options.warmup, opRounds);
    setNativeThreads(options.nativeThreads);
    const native = measureNativeOps(opShape, options.nativeThreads, options.warmup, opRounds);
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
      nativeThreads: options.nativeThreads,
      nativeBackend: await nativeBackendStatus(),
      options: { batch: options.batch, chunk: options.chunk, rounds: options.rounds, steps: options.steps, warmup: options.warmup },
      train: headline(models[0], 'train'),
      sample: headline(models[0], 'sample'),
      models,
      ops: { shape: opShape, ts: ops, native1, native, torch: torchOps },
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
 * Returns the headline figures: the faster TypeScript setup (native on 1
 * thread or on every core) against the faster PyTorch setup (1 or 2 threads).
 */
function headline(model: ModelFigures, task: 'train' | 'sample') {
  const f = model[task];
  const ts = Math.max(f.native1, f.native);
  const torch = Math.max(f.torch1, f.torch2);
  return { ts, torch, ratio: ts / torch, model: model.name };
}

await main();
