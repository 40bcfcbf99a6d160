/**
 * Entry of one data-parallel training worker (see `parallel.ts`). It owns a
 * tfjs backend and a copy of the model, and handles requests in arrival
 * order. 'init' builds the model. 'step' loads the main thread's weights and
 * returns the gradients of one chunk of the batch. 'decode' turns latents
 * into images.
 */
import { parentPort } from 'node:worker_threads';

import * as tf from '@tensorflow/tfjs-core';

import { setNativeThreads } from '../backend/nativeKernels.js';
import { type BackendName, initBackend } from '../backend/select.js';
import type { ModelConfig } from '../model/config.js';
import { DdnModel } from '../model/model.js';
import type { RandomSource, Selection } from '../sampling/sampler.js';
import { computeGradients } from './step.js';

export type WorkerRequest =
  | {
      type: 'init';
      config: ModelConfig;
      backend: BackendName;
      /** Threads of the native convolutions on wasm; 0 switches them off. */
      nativeThreads: number;
    }
  | {
      type: 'step';
      /**
       * Values of every variable, in `model.params.list()` order, or null
       * to keep the weights of the previous request (a later chunk of the
       * same step).
       */
      weights: Float32Array[] | null;
      /** This worker's share of the batch, [n, S, S, c] in [−1, 1]. */
      images: Float32Array;
      labels?: Int32Array;
      /** The random numbers that chain dropout reads, in order. */
      randomValues: Float64Array;
    }
  | {
      type: 'decode';
      /** As in 'step'. */
      weights: Float32Array[] | null;
      /** One latent per image, each [L]; all of them run as one batch. */
      latents: Int32Array[];
    };

export type WorkerReply =
  | { type: 'ready'; backend: string }
  | {
      type: 'gradients';
      loss: number;
      levelLosses: number[];
      /** One per variable; null where the loss does not reach it. */
      gradients: (Float32Array | null)[];
      selections: Selection[];
    }
  | { type: 'images'; /** [n, S, S, c] in [0, 1]. */ images: Float32Array }
  | { type: 'error'; message: string };

/** Replays numbers drawn on the main thread, so that every chunk gets the same chain dropout. */
class ReplaySource implements RandomSource {
  private position = 0;

  constructor(private readonly values: Float64Array) {}

  next(): number {
    if (this.position >= this.values.length) {
      throw new Error(
        `chain dropout read more than the ${this.values.length} random numbers drawn for this step`,
      );
    }
    return this.values[this.position++];
  }
}

let model: DdnModel | null = null;

async function handle(request: WorkerRequest): Promise<{ reply: WorkerReply; transfer: ArrayBuffer[] }> {
  if (request.type === 'init') {
    await initBackend(request.backend);
    setNativeThreads(request.nativeThreads);
    model?.dispose();
    model = new DdnModel(request.config);
    return { reply: { type: 'ready', backend: tf.getBackend() }, transfer: [] };
  }

  if (model === null) throw new Error(`a '${request.type}' request arrived before 'init'`);
  const variables = model.params.list();
  const weights = request.weights;
  if (weights !== null) {
    if (weights.length !== variables.length) {
      throw new Error(`expected ${variables.length} weight arrays, got ${weights.length}`);
    }
    tf.tidy(() => {
      variables.forEach((variable, i) => variable.assign(tf.tensor(weights[i], variable.shape)));
    });
  }

  if (request.type === 'decode') {
    const { images } = model.decode(request.latents, model.levels, request.latents.length);
    return { reply: { type: 'images', images }, transfer: [images.buffer as ArrayBuffer] };
  }

  const result = computeGradients(model, request.images, new ReplaySource(request.randomValues), request.labels);
  // Copies, because a typed array read from the wasm heap must not be transferred.
  const gradients = result.gradients.map((g) => (g === undefined ? null : new Float32Array(g.dataSync())));
  tf.dispose(result.gradients.filter((g) => g !== undefined));
  const transfer = gradients.flatMap((g) => (g === null ? [] : [g.buffer as ArrayBuffer]));
  return {
    reply: {
      type: 'gradients',
      loss: result.loss,
      levelLosses: result.levelLosses,
      gradients,
      selections: result.selections,
    },
    transfer,
  };
}

if (parentPort === null) {
  throw new Error('parallelWorker.ts runs only as a worker thread');
}
const port = parentPort;
// Requests are handled one at a time, in arrival order.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    try {
      const { reply, transfer } = await handle(request);
      port.postMessage(reply, transfer);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      port.postMessage({ type: 'error', message } satisfies WorkerReply);
    }
  });
});
