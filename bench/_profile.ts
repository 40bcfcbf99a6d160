import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.js';
import { makeConfig } from '../src/model/config.js';
import { DdnModel } from '../src/model/model.js';
import { Adam } from '../src/train/adam.js';
import { makeSplitPrunes, trainStep } from '../src/train/step.js';
import { Rng } from '../src/data/rng.js';
await initBackend('wasm');
const batch = Number(process.argv[2] ?? 4);
const config = makeConfig({ paradigm: (process.argv[3] ?? 'recurrence') as any, imageSize: 32, imageChannels: 1 });
const model = new DdnModel(config, 0);
const opt = new Adam(model.params.list(), { learningRate: 2e-3 });
const sp = makeSplitPrunes(model);
const rng = new Rng(1);
const images = Float32Array.from({ length: batch * 1024 }, () => rng.next() * 2 - 1);
trainStep(model, opt, sp, images, rng);
const info = await tf.profile(() => { trainStep(model, opt, sp, images, rng); });
const byName = new Map<string, { ms: number; n: number; bytes: number }>();
for (const k of info.kernels) {
  const e = byName.get(k.name) ?? { ms: 0, n: 0, bytes: 0 };
  e.ms += (await k.kernelTimeMs) as number; e.n++; e.bytes += k.bytesAdded;
  byName.set(k.name, e);
}
console.log('peakBytes MiB', (info.peakBytes / 2 ** 20).toFixed(0), 'kernels', info.kernels.length);
const total = [...byName.values()].reduce((s, e) => s + e.ms, 0);
console.log('total kernel ms', total.toFixed(0));
for (const [name, e] of [...byName].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(name.padEnd(28), e.ms.toFixed(0).padStart(7), String(e.n).padStart(6));
