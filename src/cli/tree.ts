/** `ddn tree`: the latent tree as recursive 3×3 grids (DDN paper, Fig. 8). */
import type { Command, Option } from 'commander';

import type { BackendName } from '../backend/select.js';
import { writePng } from '../image/codec.js';
import { loadModel } from '../io/modelDir.js';
import { decodeTreeNodes } from '../latent/modelLatents.js';
import { layoutTree, renderTree } from '../latent/treePicture.js';
import { DdnError } from '../errors.js';
import { startBackend } from './backend.js';
import { makeOutput, type Output } from './output.js';
import { parseInteger, parseOutputFile } from './parse.js';

export interface TreeCommandOptions {
  model: string;
  levels: number;
  out: string;
  backend?: BackendName;
}

export async function treeCommand(o: TreeCommandOptions, out: Output): Promise<void> {
  await startBackend(o.backend, out);
  const { model } = await loadModel(o.model);
  try {
    if (o.levels > model.levels) {
      throw new DdnError(`invalid --levels ${o.levels}: the model has ${model.levels} levels`);
    }
    // Lay out first, so a picture too large fails before any decoding.
    const layout = layoutTree(model.ks.slice(0, o.levels), model.config.imageSize);
    const nodes = decodeTreeNodes(model, o.levels);
    const picture = renderTree(layout, (prefix) => nodes.get(prefix.join(','))!);
    await writePng(o.out, picture);

    const childrenShown = model.ks.slice(0, o.levels).map((k) => Math.min(k, 8));
    const note = model.ks.slice(0, o.levels).some((k) => k > 8) ? ' (first 8 children of each node)' : '';
    out.result(`wrote ${o.out}: ${layout.side}×${layout.side} pixels, ${layout.tiles.length} images over ${o.levels} levels${note}`);
    out.json({ out: o.out, side: layout.side, images: layout.tiles.length, levels: o.levels, childrenShown });
  } finally {
    model.dispose();
  }
}

/** Adds `ddn tree` to the program. */
export function registerTreeCommand(program: Command, backendOption: () => Option, jsonOption: () => Option): void {
  program
    .command('tree')
    .description('draw the latent tree as recursive 3×3 grids: each node in the centre, its first 8 children around it')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .requiredOption('--out <file.png>', 'PNG file to write', parseOutputFile('out', '.png'))
    .option('--levels <n>', 'tree levels to draw; the picture is 3^n images wide', parseInteger('levels', 1, 8), 3)
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => treeCommand(opts, makeOutput(Boolean(opts.json))));
}
