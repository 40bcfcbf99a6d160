/**
 * Data-parallel training on worker threads. Each worker owns its own tfjs
 * backend (one wasm instance per thread, because tfjs 4.22 switches wasm
 * threads off under Node) and a copy of the model. A step splits the batch
 * into contiguous shares, every worker computes the gradients of its share
 * with the current weights, and the main thread averages them (weighted by
 * share size), takes the Adam step and runs Split-and-Prune. The new
 * weights travel to the workers with the next step.
 *
 * `sample` spreads image generation over the workers the same way.
 *
 * The result equals a one-process `trainStep` on the same batch within
 * float rounding. The loss is a mean over images, so the batch gradient is
 * the share-weighted mean of the share gradients. Chain dropout draws its
 * random numbers on the main thread, in the order `trainStep` would.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import * as tf from '@tensorflow/tfjs-core';

import type { BackendName } from '../backend/select.js';
import { DdnError } from '../errors.js';
import type { DdnModel, GeneratedBatch } from '../model/model.js';
import type { RandomSource, Selection } from '../sampling/sampler.js';
import type { SplitPrune } from '../splitPrune/index.js';
import type { Adam } from './adam.js';
import { type BatchGradients, type StepResult, applyGradients } from './step.js';
import type { WorkerReply, WorkerRequest } from './parallelWorker.js';

export interface ParallelOptions {
  /** Number of worker threads, at least 1. */
  workers: number;
  /**
   * Most images one worker runs through one forward and backward pass; a
   * larger share is split into chunks whose gradients are averaged the same
   * way. Bounds memory: tfjs keeps every intermediate tensor of a pass until
   * its gradients are done. Default: no limit.
   */
  maxChunk?: number;
  /** Backend of every worker; default: the backend the main thread runs on. */
  backend?: BackendName;
  /**
   * Threads of each worker's native convolutions on wasm (see
   * `backend/native.ts`); 0 switches them off. Default: the cores shared
   * among the workers, at least 1.
   */
  nativeThreads?: number;
}

/** Engine names, as `tf.getBackend()` returns them, to project backend names. */
const BACKEND_OF_ENGINE: Record<string, BackendName> = {
  wasm: 'wasm',
  cpu: 'cpu',
  tensorflow: 'node',
};

interface PendingReply {
  resolve: (reply: WorkerReply) => void;
  reject: (error: Error) => void;
}

/** One worker thread and the replies it still owes. */
class WorkerHandle {
  private readonly pending: PendingReply[] = [];
  private failure: Error | null = null;

  constructor(
    readonly index: number,
    private readonly worker: Worker,
  ) {
    worker.on('message', (reply: WorkerReply) => {
      const waiting = this.pending.shift();
      if (waiting === undefined) return;
      if (reply.type === 'error') {
        waiting.reject(new DdnError(`training worker ${index} failed: ${reply.message}`));
      } else {
        waiting.resolve(reply);
      }
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => {
      this.fail(new Error(`exited with code ${code}`));
    });
  }

  /** Sends one request. The worker replies to requests in the order they arrive. */
  request(message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  terminate(): Promise<number> {
    this.failure ??= new DdnError(`training worker ${this.index} was closed`);
    return this.worker.terminate();
  }

  private fail(error: Error): void {
    if (this.failure !== null) return;
    this.failure = new DdnError(`training worker ${this.index} stopped: ${error.message}`);
    for (const waiting of this.pending.splice(0)) waiting.reject(this.failure);
  }
}

/**
 * Runs training steps of one model on several worker threads. Create it
 * with `ParallelTrainer.create` and call `close()` when done.
 */
export class ParallelTrainer {
  private constructor(
    private readonly model: DdnModel,
    private readonly workers: WorkerHandle[],
    /** Backend that the workers run on. */
    readonly backend: BackendName,
    private readonly maxChunk: number,
  ) {}

  /** Starts `options.workers` threads, each with a copy of `model`. */
  static async create(model: DdnModel, options: ParallelOptions): Promise<ParallelTrainer> {
    const { workers: count } = options;
    if (!Number.isInteger(count) || count < 1) {
      throw new DdnError(`invalid worker count ${count}: expected an integer ≥ 1`);
    }
    const maxChunk = options.maxChunk ?? Infinity;
    if (!(maxChunk === Infinity || (Number.isInteger(maxChunk) && maxChunk >= 1))) {
      throw new DdnError(`invalid chunk size ${maxChunk}: expected an integer ≥ 1`);
    }
    const backend = options.backend ?? BACKEND_OF_ENGINE[tf.getBackend()] ?? 'wasm';
    const nativeThreads = options.nativeThreads ?? Math.max(1, Math.floor(availableParallelism() / count));
    const handles = Array.from({ length: count }, (_, i) => new WorkerHandle(i, startWorker()));
    const trainer = new ParallelTrainer(model, handles, backend, maxChunk);
    try {
      await Promise.all(
        handles.map((handle) =>
          handle.request({ type: 'init', config: model.config, backend, nativeThreads }),
        ),
      );
    } catch (error) {
      await trainer.close();
      throw error;
    }
    return trainer;
  }

  /** Number of worker threads. */
  get workerCount(): number {
    return this.workers.length;
  }

  /**
   * Trains on one batch `images` [b, S, S, c] in [−1, 1], like `trainStep`
   * with the same arguments. Throws NonFiniteLossError as `trainStep` does.
   */
  async step(
    optimizer: Adam,
    splitPrunes: SplitPrune[],
    images: Float32Array,
    rng: RandomSource,
    labels?: Int32Array,
  ): Promise<StepResult> {
    const { imageSize, imageChannels, chainDropout } = this.model.config;
    const imageLength = imageSize * imageSize * imageChannels;
    const batch = images.length / imageLength;
    if (!Number.isInteger(batch) || batch < 1) {
      throw new DdnError(
        `invalid batch of ${images.length} values: expected a multiple of ${imageLength} (one ${imageSize}×${imageSize}×${imageChannels} image)`,
      );
    }

    // Contiguous chunks of the batch, dealt to the workers in turn; each
    // worker runs its chunks one after the other.
    const chunkCount = Math.max(Math.min(this.workers.length, batch), Math.ceil(batch / this.maxChunk));
    const starts = Array.from({ length: chunkCount }, (_, i) => Math.round((i * batch) / chunkCount));
    const ends = Array.from({ length: chunkCount }, (_, i) => Math.round(((i + 1) * batch) / chunkCount));
    const randomValues = drawChainDropout(rng, this.model.levels, chainDropout, starts, ends);
    const weights = this.model.params.list().map((v) => v.dataSync() as Float32Array);

    const replies = await Promise.all(
      starts.map((start, i) =>
        this.workers[i % this.workers.length].request({
          type: 'step',
          weights: i < this.workers.length ? weights : null,
          images: images.slice(start * imageLength, ends[i] * imageLength),
          labels: labels?.slice(start, ends[i]),
          randomValues: randomValues[i],
        }),
      ),
    );
    const shares = starts.map((start, i) => (ends[i] - start) / batch);
    const combined = combineReplies(replies, shares, this.model.params.list());
    return applyGradients(this.model, optimizer, splitPrunes, combined);
  }

  /**
   * Makes `n` new images like `model.sample(n, rng, batchSize)`: the picks
   * are drawn here in the same order, and the workers decode the latents
   * in batches of at most `batchSize`.
   */
  async sample(n: number, rng: RandomSource, batchSize = 64): Promise<GeneratedBatch> {
    if (!Number.isInteger(n) || n < 0 || !Number.isInteger(batchSize) || batchSize < 1) {
      throw new DdnError(`invalid sample request: n ${n}, batch size ${batchSize}; expected integers, n ≥ 0 and batch ≥ 1`);
    }
    const ks = this.model.ks;
    const latents: Int32Array[] = Array.from({ length: n }, () => new Int32Array(ks.length));
    for (let start = 0; start < n; start += batchSize) {
      const count = Math.min(batchSize, n - start);
      ks.forEach((k, level) => {
        for (let i = 0; i < count; i++) latents[start + i][level] = Math.floor(rng.next() * k);
      });
    }

    const weights = this.model.params.list().map((v) => v.dataSync() as Float32Array);
    const starts: number[] = [];
    for (let start = 0; start < n; start += batchSize) starts.push(start);
    const replies = await Promise.all(
      starts.map((start, i) => {
        const chunk = latents.slice(start, start + batchSize);
        return this.workers[i % this.workers.length].request({
          type: 'decode',
          weights: i < this.workers.length ? weights : null,
          latents: chunk,
        });
      }),
    );

    const imageLength = this.model.imageLength;
    const images = new Float32Array(n * imageLength);
    replies.forEach((reply, i) => {
      if (reply.type !== 'images') {
        throw new DdnError(`training worker sent '${reply.type}' where images were expected`);
      }
      images.set(reply.images, starts[i] * imageLength);
    });
    return { images, latents };
  }

  /** Stops every worker thread. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((handle) => handle.terminate()));
  }
}

/**
 * Draws, in `trainStep`'s order, the random numbers that chain dropout will
 * use in one step, and deals them to the chunks of the batch. Each level
 * takes one number that decides whether it picks at random. When it does,
 * it takes one more number per image, which goes to that image's chunk.
 *
 * NOTE: this mirrors how `ArgminSampler.select` reads its random source. A
 * change there must be made here too; the parallel test catches a mismatch.
 */
function drawChainDropout(
  rng: RandomSource,
  levels: number,
  chainDropout: number,
  starts: number[],
  ends: number[],
): Float64Array[] {
  const perChunk: number[][] = starts.map(() => []);
  if (chainDropout > 0) {
    for (let level = 0; level < levels; level++) {
      const decision = rng.next();
      for (const values of perChunk) values.push(decision);
      if (decision >= chainDropout) continue;
      starts.forEach((start, chunk) => {
        for (let i = start; i < ends[chunk]; i++) perChunk[chunk].push(rng.next());
      });
    }
  }
  return perChunk.map((values) => Float64Array.from(values));
}

/** Share-weighted mean of the workers' losses and gradients, with their picks joined in batch order. */
function combineReplies(
  replies: WorkerReply[],
  shares: number[],
  variables: tf.Variable[],
): BatchGradients {
  const steps = replies.map((reply) => {
    if (reply.type !== 'gradients') {
      throw new DdnError(`training worker sent '${reply.type}' where gradients were expected`);
    }
    return reply;
  });

  const loss = steps.reduce((sum, s, w) => sum + shares[w] * s.loss, 0);
  const levelLosses = steps[0].levelLosses.map((_, level) =>
    steps.reduce((sum, s, w) => sum + shares[w] * s.levelLosses[level], 0),
  );

  const gradients = variables.map((variable, i) => {
    if (steps.every((s) => s.gradients[i] === null)) return undefined;
    const mean = new Float32Array(variable.size);
    steps.forEach((s, w) => {
      const part = s.gradients[i];
      if (part === null) return;
      for (let j = 0; j < mean.length; j++) mean[j] += shares[w] * part[j];
    });
    return tf.tensor(mean, variable.shape);
  });

  const selections: Selection[] = steps[0].selections.map((_, level) => {
    const parts = steps.map((s) => s.selections[level]);
    const joined: Selection = { indices: concatInt32(parts.map((p) => p.indices)) };
    if (parts.every((p) => p.runnerUps !== undefined)) {
      joined.runnerUps = concatInt32(parts.map((p) => p.runnerUps as Int32Array));
    }
    if (parts.every((p) => p.distances !== undefined)) {
      joined.distances = concatFloat32(parts.map((p) => p.distances as Float32Array));
    }
    if (parts.some((p) => p.dropped === true)) joined.dropped = true;
    return joined;
  });
  return { loss, levelLosses, gradients, selections };
}

function concatInt32(parts: Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function concatFloat32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Module hooks that let a worker thread import the TypeScript sources, for
 * tests and `tsx` runs where no compiled `parallelWorker.js` exists. A `.js`
 * import from a `.ts` file falls back to the `.ts` file, and the project's
 * own `typescript` package transpiles it without type checking.
 */
const TYPESCRIPT_HOOKS = `
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
let ts;
export function initialize(data) {
  ts = createRequire(data.resolveFrom)('typescript');
}
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const parent = context.parentURL ?? '';
    if (specifier.endsWith('.js') && parent.endsWith('.ts')) {
      return next(specifier.slice(0, -3) + '.ts', context);
    }
    throw error;
  }
}
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const source = await readFile(new URL(url), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName: url,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
`;

/** Worker bootstrap used with the TypeScript sources: register the hooks, then import the entry. */
const TYPESCRIPT_BOOTSTRAP = `
const { register } = require('node:module');
const { workerData } = require('node:worker_threads');
register(workerData.hooksUrl, { data: { resolveFrom: workerData.resolveFrom } });
import(workerData.entryUrl).catch((error) => {
  process.nextTick(() => { throw error; });
});
`;

/** Starts the worker from compiled JavaScript when present, else from the TypeScript source. */
function startWorker(): Worker {
  const compiled = new URL('./parallelWorker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) {
    return new Worker(compiled);
  }
  const source = new URL('./parallelWorker.ts', import.meta.url);
  return new Worker(TYPESCRIPT_BOOTSTRAP, {
    eval: true,
    workerData: {
      hooksUrl: `data:text/javascript,${encodeURIComponent(TYPESCRIPT_HOOKS)}`,
      resolveFrom: import.meta.url,
      entryUrl: source.href,
    },
  });
}
