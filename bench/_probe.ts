import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '/work/main/src/backend/select.js';
import { makeConfig } from '/work/main/src/model/config.js';
import { DdnModel } from '/work/main/src/model/model.js';
import { Adam } from '/work/main/src/train/adam.js';
import { makeSplitPrunes, trainStep } from '/work/main/src/train/step.js';
import { Rng } from '/work/main/src/data/rng.js';
await initBackend('wasm');
const batch = Number(process.argv[2] ?? 32);
const config = makeConfig({ paradigm: 'recurrence', imageSize: 32, imageChannels: 1 });
const model = new DdnModel(config, 0);
const opt = new Adam(model.params.list(), { learningRate: 2e-3 });
const sp = makeSplitPrunes(model);
const rng = new Rng(1);
const images = Float32Array.from({ length: batch * 1024 }, () => rng.next() * 2 - 1);
const heap = () => ((tf.backend() as any).wasm.HEAPU8.length / 2 ** 20).toFixed(0);
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  trainStep(model, opt, sp, images, rng);
  console.log('step', i, (performance.now() - t).toFixed(0), 'ms heap', heap(), 'MiB tensors', tf.memory().numTensors);
}
const t = performance.now(); model.sample(batch, rng, batch); console.log('sample', (performance.now() - t).toFixed(0), 'ms heap', heap());
console.log('params', model.params.count());
