/** Turns one benchmark run into bench/RESULTS.md. */
import type { OpShape, TwinOps } from './torchTwin.js';
import type { NativeOpTimings, OpTimings, TorchOpTimings } from './ops.js';

/** Images per second of one model; null where that setup did not run. */
export interface Throughput {
  /** TypeScript with tfjs-backend-wasm's kernels and the convolution recipes, one thread. */
  wasm: number;
  /** TypeScript with the native convolutions on 1 thread. */
  native1: number;
  /** TypeScript with the native convolutions on every core (`nativeThreads`). */
  native: number;
  /** PyTorch twin, 1 thread. */
  torch1: number;
  /** PyTorch twin, 2 threads. */
  torch2: number;
}

export interface ModelFigures {
  name: string;
  params: number;
  levels: number;
  k: number;
  train: Throughput;
  sample: Throughput;
}

export interface Headline {
  ts: number;
  torch: number;
  /** ts / torch. */
  ratio: number;
  model: string;
}

export interface BenchResults {
  date: string;
  machine: {
    cpus: number;
    loadBefore: number[];
    loadAfter: number[];
    node: string;
    torch: string;
    torchDefaultThreads: number;
  };
  backend: string;
  threadsPerProcess: number;
  /** Threads of the native convolutions in the "every core" setup. */
  nativeThreads: number;
  nativeBackend: string;
  options: { batch: number; chunk: number; rounds: number; steps: number; warmup: number };
  train: Headline;
  sample: Headline;
  models: ModelFigures[];
  ops: { shape: OpShape; ts: OpTimings; native1: NativeOpTimings; native: NativeOpTimings; torch: TorchOpTimings };
  memory: unknown[];
}

const fixed = (x: number | null | undefined, digits = 1) => (x === null || x === undefined ? '–' : x.toFixed(digits));

function throughputRows(results: BenchResults, task: 'train' | 'sample'): string[] {
  return results.models.map((m) => {
    const f = m[task];
    const best = Math.max(f.native1, f.native) / Math.max(f.torch1, f.torch2);
    const oneThread = f.native1 / f.torch1;
    return `| ${m.name} | ${m.params} | ${fixed(f.wasm)} | ${fixed(f.native1)} | ${fixed(f.native)} | ${fixed(f.torch1)} | ${fixed(f.torch2)} | ${oneThread.toFixed(2)} | ${best.toFixed(2)} |`;
  });
}

function opRow(label: string, ...cells: (number | null)[]): string {
  return `| ${label} | ${cells.map((cell) => fixed(cell)).join(' | ')} |`;
}

interface MemoryRecord {
  k: number;
  failed?: string;
  batch: number;
  step: {
    params: number;
    rssBeforeMiB: number;
    rssPeakMiB: number;
    wasmHeapAfterMiB: number;
    tensorPeakMiB: number;
    stepSeconds: number;
  };
  head: { form: string; tensorPeakMiB?: number; seconds?: number; failed?: string }[];
}

function memoryRows(memory: unknown[]): string[] {
  return (memory as MemoryRecord[]).map((m) => {
    if (m.failed !== undefined) return `| ${m.k} | failed: ${m.failed} | | | | | | | |`;
    const gram = m.head.find((h) => h.form === 'gram');
    const direct = m.head.find((h) => h.form === 'direct');
    const head = (h: MemoryRecord['head'][number] | undefined): string => {
      if (h === undefined) return '–';
      if (h.failed !== undefined) return `failed (${h.failed.slice(0, 60)})`;
      return `${fixed(h.tensorPeakMiB, 1)} MiB, ${fixed(h.seconds, 2)} s`;
    };
    const { step } = m;
    return `| ${m.k} | ${step.params} | ${fixed(step.rssBeforeMiB, 0)} | ${fixed(step.rssPeakMiB, 0)} | ${fixed(step.wasmHeapAfterMiB, 0)} | ${fixed(step.tensorPeakMiB, 0)} | ${fixed(step.stepSeconds, 1)} | ${head(gram)} | ${head(direct)} |`;
  });
}

const speedup = (before: number | null | undefined, after: number | null | undefined) =>
  before === null || before === undefined || after === null || after === undefined ? '–' : `${(before / after).toFixed(2)}×`;

/** Formats one line per lever with its measured before and after figures. */
function leverLines(r: BenchResults): string[] {
  const { ts } = r.ops;
  const lines = [
    `- Convolution input gradient as a forward convolution: ${fixed(ts.convInputGradientWasmOwn)} ms (wasm's own kernel) → ` +
      `${fixed(ts.convInputGradient)} ms, ${speedup(ts.convInputGradientWasmOwn, ts.convInputGradient)} faster. Kept.`,
    `- Convolution filter gradient as a forward convolution: no wasm kernel (training threw) → ${fixed(ts.convFilterGradient)} ms ` +
      `(${speedup(ts.convFilterGradient, ts.convForward)} a forward convolution). Kept.`,
    `- DDL head distances through the Gram expansion: ${fixed(ts.distancesDirect)} ms direct → ${fixed(ts.distancesGram)} ms, ` +
      `${speedup(ts.distancesDirect, ts.distancesGram)} faster at this shape; memory in the table below. Kept.`,
  ];
  const { native1, native } = r.ops;
  lines.push(
    `- Native kernels (native/*.c), convolutions alone, 1 thread: forward ${fixed(ts.convForward)} → ${fixed(native1.convForward)} ms ` +
      `(${speedup(ts.convForward, native1.convForward)} faster), input gradient ${fixed(ts.convInputGradient)} → ` +
      `${fixed(native1.convInputGradient)} ms (${speedup(ts.convInputGradient, native1.convInputGradient)}), filter gradient ` +
      `${fixed(ts.convFilterGradient)} → ${fixed(native1.convFilterGradient)} ms (${speedup(ts.convFilterGradient, native1.convFilterGradient)}); ` +
      `on ${native.threads} threads ${fixed(native.convForward)}, ${fixed(native.convInputGradient)} and ${fixed(native.convFilterGradient)} ms. Kept.`,
  );
  for (const m of r.models) {
    lines.push(
      `- Native kernels (convolutions, arithmetic, sums, matrix products, copies), ${m.name} model: training ${fixed(m.train.wasm)} → ${fixed(m.train.native1)} images/s on 1 thread ` +
        `(${speedup(m.train.native1, m.train.wasm)}), ${fixed(m.train.native)} on ${r.nativeThreads} (${speedup(m.train.native, m.train.wasm)}); ` +
        `sampling ${fixed(m.sample.wasm)} → ${fixed(m.sample.native1)} (${speedup(m.sample.native1, m.sample.wasm)}), ` +
        `${fixed(m.sample.native)} on ${r.nativeThreads} (${speedup(m.sample.native, m.sample.wasm)}).`,
    );
  }
  lines.push(`- @tensorflow/tfjs-node: ${r.nativeBackend}; not measured.`);
  return lines;
}

export function formatResults(r: BenchResults): string {
  const { ts, native1, native, torch, shape } = r.ops;
  const t1: TwinOps = torch.threads1;
  const t2: TwinOps = torch.threads2;
  return `# Benchmark results

Written by \`npm run bench\` (bench/run.ts) on ${r.date}. Do not edit by hand;
bench/README.md explains the method, the levers and the plan.

Machine: ${r.machine.cpus} CPUs, Node ${r.machine.node}, PyTorch ${r.machine.torch}
(default ${r.machine.torchDefaultThreads} thread). Load average (1, 5, 15 min) before the
run: ${r.machine.loadBefore.join(', ')}; after: ${r.machine.loadAfter.join(', ')}. Figures taken under
a load above the core count are noisy; the ratios of one alternating run are less so.

TypeScript backend: **${r.backend}**, ${r.threadsPerProcess} thread per backend instance. Three
TypeScript setups: "wasm" runs tfjs-backend-wasm's own kernels with the project's
convolution-gradient recipes, on one thread; "native" runs the convolutions, broadcasting
arithmetic, sums, means, concatenation, matrix products and copies on the project's native
kernels (native/*.c, built at install time), on 1 thread or on ${r.nativeThreads}, while every other
operation stays on wasm. Training runs on one worker thread (src/train/parallel.ts), the
recurrence model in chunks of at most ${r.options.chunk} images per pass and the single-shot model's
whole batch in one pass, as \`ddn train\` runs them; sampling runs in the main thread (\`DdnModel.sample\`).
@tensorflow/tfjs-node: ${r.nativeBackend}.

Batch ${r.options.batch}; ${r.options.rounds} rounds of ${r.options.steps} timed steps per side
after ${r.options.warmup} warm-up steps; medians over all timed steps.

## Headline (${r.train.model} model)

The faster TypeScript setup against the faster PyTorch setup; ratio = TypeScript / PyTorch.
The tables below also give the ratio of one thread against one thread.

| | TypeScript images/s | PyTorch images/s | ratio |
|---|---|---|---|
| training | ${fixed(r.train.ts)} | ${fixed(r.train.torch)} | ${r.train.ratio.toFixed(2)} |
| sampling | ${fixed(r.sample.ts)} | ${fixed(r.sample.torch)} | ${r.sample.ratio.toFixed(2)} |

## Training, images/s

| model | parameters | TS wasm | TS native 1 thread | TS native ${r.nativeThreads} threads | torch 1 thread | torch 2 threads | 1 thread / 1 thread | best / best |
|---|---|---|---|---|---|---|---|---|
${throughputRows(r, 'train').join('\n')}

## Sampling, images/s

| model | parameters | TS wasm | TS native 1 thread | TS native ${r.nativeThreads} threads | torch 1 thread | torch 2 threads | 1 thread / 1 thread | best / best |
|---|---|---|---|---|---|---|---|---|
${throughputRows(r, 'sample').join('\n')}

## Hot operations, median ms

Shape: batch ${shape.batch}, ${shape.size}×${shape.size}, ${shape.channels} → ${shape.channels} channels, 3×3, 'same'
(the recurrence model's full-size convolutions); DDL head with K = ${shape.k}, c = ${shape.imageChannels},
leak choice on: distances, argmin, picked and leak outputs, forward only. TypeScript runs one process.

| operation | TS wasm | TS native 1 thread | TS native ${native.threads} threads | torch 1 thread | torch 2 threads |
|---|---|---|---|---|---|
${opRow('convolution forward', ts.convForward, native1.convForward, native.convForward, t1.convForward, t2.convForward)}
${opRow('input gradient (wasm: forward-convolution recipe)', ts.convInputGradient, native1.convInputGradient, native.convInputGradient, t1.convInputGradient, t2.convInputGradient)}
${opRow('input gradient, tfjs-backend-wasm 4.22 own kernel', ts.convInputGradientWasmOwn, null, null, null, null)}
${opRow('filter gradient (wasm: forward-convolution recipe)', ts.convFilterGradient, native1.convFilterGradient, native.convFilterGradient, t1.convFilterGradient, t2.convFilterGradient)}
${opRow('DDL head', ts.ddlHead, null, null, t1.ddlHead, t2.ddlHead)}
${opRow('head distances, Gram expansion', ts.distancesGram, null, null, null, null)}
${opRow('head distances, direct ([b, K, h, w, c])', ts.distancesDirect, null, null, null, null)}

tfjs-backend-wasm 4.22 has no filter-gradient kernel at all: before the recipe, training a
convolution on wasm threw.

## Levers, before → after (this run)

${leverLines(r).join('\n')}

## Memory: one training step, single-shot model, 64×64 RGB, batch ${(r.memory as MemoryRecord[])[0]?.batch ?? '–'}

Each K in a fresh process. RSS = resident set size; the wasm heap never shrinks, so its size
after the step is the step's peak. Tensor peak = the most bytes of live tensors during the
step, as \`tf.profile\` counts them. Head columns: tensor peak and time of the finest level's
distances alone (64×64, K nodes, forward only), each form in its own process.

| K | parameters | RSS before step, MiB | peak RSS, MiB | wasm heap after step, MiB | tensor peak, MiB | step s | head, Gram | head, direct |
|---|---|---|---|---|---|---|---|---|
${memoryRows(r.memory).join('\n')}
`;
}
