/** `ddn toy2d`: the 2-D density experiment, Split-and-Prune against gradients alone. */
import { SingleBar } from 'cli-progress';

import { runToy2d, type Toy2dOptions } from '../toy2d/index.js';
import type { Output } from './output.js';

export async function toy2dCommand(
  o: Omit<Toy2dOptions, 'outDir' | 'onProgress'> & { out: string; progress: boolean },
  out: Output,
): Promise<void> {
  const bar = o.progress
    ? new SingleBar({ format: 'toy2d |{bar}| {value}/{total} iterations | ETA {eta_formatted}', stream: process.stderr })
    : null;
  bar?.start(o.iters, 0);
  let result;
  try {
    result = await runToy2d({
      ...o,
      outDir: o.out,
      onProgress: bar === null ? undefined : (iter) => bar.update(iter),
    });
  } finally {
    bar?.stop();
  }
  const fmt = (d: { kl: number; js: number; tv: number; hellinger: number }) =>
    `KL ${d.kl.toFixed(4)}  JS ${d.js.toFixed(4)}  TV ${d.tv.toFixed(4)}  Hellinger ${d.hellinger.toFixed(4)}`;
  out.result(`density ${result.density}, K = ${result.k}, ${result.iters} iterations, split-prune ${result.splitPrune} (${result.splits} splits), ${result.seconds.toFixed(1)} s`);
  out.result(`  DDN nodes:          ${fmt(result.ddn)}`);
  out.result(`  ${result.k} real samples: ${fmt(result.real)}`);
  out.result(`wrote metrics.json and compare.png${o.gif ? ' and training.gif' : ''} in ${o.out}`);
  out.json(result);
}
