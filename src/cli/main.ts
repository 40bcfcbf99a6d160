/**
 * The `ddn` command line: parses options, calls the library, and turns a
 * user mistake into one line on stderr and a non-zero exit.
 */
import { readFileSync } from 'node:fs';

import { Command, CommanderError, Option } from 'commander';

import { DdnError } from '../errors.js';
import { DEFAULT_OPTIONS } from '../model/config.js';
import { BACKEND_CHOICES } from './backend.js';
import { registerClassifierCommands } from './classifier.js';
import { registerDecodeCommand } from './decode.js';
import { registerEncodeCommand } from './encode.js';
import { registerEvalCommand } from './eval.js';
import { registerExportCommand } from './export.js';
import { registerGuideCommand } from './guide.js';
import { infoCommand } from './info.js';
import { registerLatentTreeCommand } from './latentTree.js';
import { makeOutput } from './output.js';
import { parseChoice, parseInteger, parseNumber, parseOutputFile } from './parse.js';
import { priorOption, priorTemperatureOption, registerPriorCommand } from './prior.js';
import { reconstructCommand } from './reconstruct.js';
import { sampleCommand } from './sample.js';
import { toy2dCommand } from './toy2d.js';
import { registerTreeCommand } from './tree.js';
import { trainCommand } from './train.js';

function backendOption(): Option {
  return new Option('--backend <name>', 'tfjs backend: wasm (with the native kernels when they were built), cpu or node (default: node if installed, else wasm)').argParser(
    parseChoice('backend', BACKEND_CHOICES),
  );
}

function jsonOption(): Option {
  return new Option('--json', 'print exactly one JSON object on stdout');
}

/** The version in package.json, two folders up from both src/cli and dist/cli. */
function packageVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function buildProgram(): Command {
  const program = new Command('ddn')
    .description('Discrete Distribution Networks: train, sample and reconstruct images')
    .version(packageVersion(), '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('train')
    .description('train a model on a dataset, writing the model, pictures and a checkpoint to --out')
    .requiredOption('--data <spec>', 'mnist (embedded), fashion-mnist, a folder of PNG/JPEG images, or an IDX file (.gz allowed)')
    .requiredOption('--out <dir>', 'run folder for the model, checkpoint, pictures and log')
    .addOption(new Option('--paradigm <name>', 'single-shot (pyramid) or recurrence (shared UNet)').argParser(parseChoice('paradigm', ['single-shot', 'recurrence'] as const)).default(DEFAULT_OPTIONS.paradigm))
    .option('--k <n>', 'K, output nodes per layer (in the pyramid the largest K)', parseInteger('k', 2, 65536), DEFAULT_OPTIONS.k)
    .option('--levels <n>', 'L, number of discrete distribution layers a sample passes', parseInteger('levels', 1, 4096), DEFAULT_OPTIONS.levels)
    .option('--channels <n>', 'widest feature channels (pyramid) or UNet base channels (recurrence)', parseInteger('channels', 4, 4096), DEFAULT_OPTIONS.channels)
    .option('--image-size <n>', 'train at this side (a power of two; default: the data side, 28 padded to 32)', parseInteger('image-size', 4, 4096))
    .option('--steps <n>', 'optimizer steps in total (a resumed run continues up to this count)', parseInteger('steps', 1), 2000)
    .option('--minutes <x>', 'stop after this many minutes even if steps remain', parseNumber('minutes', 0, 1e6, { minInclusive: false }))
    .option('--batch <n>', 'images per step', parseInteger('batch', 1, 65536), 32)
    .option('--lr <x>', 'Adam learning rate', parseNumber('lr', 0, 1, { minInclusive: false }), 2e-3)
    .option('--chain-dropout <p>', 'probability that a layer picks at random in training', parseNumber('chain-dropout', 0, 0.99), DEFAULT_OPTIONS.chainDropout)
    .addOption(new Option('--split-prune <rule>', 'Split-and-Prune rule: tv (refined), paper (Algorithm 1) or off').argParser(parseChoice('split-prune', ['tv', 'paper', 'off'] as const)).default(DEFAULT_OPTIONS.splitPrune))
    .option('--runner-up', 'hand a pruned node\'s count to its runner-up nodes', false)
    .option('--no-learning-residual', 'regress images instead of residuals (ablation)')
    .option('--no-leak-choice', 'drop the leak-choice condition (ablation)')
    .addOption(new Option('--condition <kind>', 'train a conditional model: class (labels), edges, gray or lowres (images made from each target)').argParser(parseChoice('condition', ['none', 'class', 'edges', 'gray', 'lowres'] as const)).default('none'))
    .option('--seed <n>', 'fixes weights, data order and random picks', parseInteger('seed', 0, 2 ** 31 - 1), 0)
    .option('--resume', 'continue the run checkpointed in --out', false)
    .option('--snapshot-minutes <x>', 'minutes between pictures and checkpoints', parseNumber('snapshot-minutes', 0, 1e6, { minInclusive: false }), 3)
    .option('--keep <n>', 'step-named checkpoints to keep besides the latest and the best (0 keeps none)', parseInteger('keep', 0, 1_000_000), 3)
    .option('--no-progress', 'no progress bar')
    .option('--no-prior', 'class-conditional runs: skip measuring node usage (node-prior.json) at the end')
    .addOption(backendOption())
    .action(async (opts) => {
      await trainCommand(
        {
          ...opts,
          imageSize: opts.imageSize,
          learningResidual: opts.learningResidual === false ? false : undefined,
          leakChoice: opts.leakChoice === false ? false : undefined,
          splitPruneRunnerUp: opts.runnerUp,
          progress: opts.progress && process.stderr.isTTY === true,
        },
        makeOutput(false),
      );
    });

  program
    .command('sample')
    .description('write a grid of new images; the same seed gives the same file')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .requiredOption('--out <file.png>', 'PNG file to write', parseOutputFile('out', '.png'))
    .option('--n <n>', 'number of images', parseInteger('n', 1, 100000), 64)
    .option('--seed <n>', 'random seed', parseInteger('seed', 0, 2 ** 31 - 1), 0)
    .option('--columns <n>', 'grid columns (default: square)', parseInteger('columns', 1, 1000))
    .option('--class <n>', 'class-conditional model: make every image of this class (default: one row per class)', parseInteger('class', 0, 100000))
    .option('--condition-image <png>', 'image-conditional model: the condition itself (an edge map, a gray image or a low-resolution image)')
    .option('--condition-from <png>', 'image-conditional model: an image to make the condition from (its edges, gray copy or low-resolution copy)')
    .addOption(priorOption())
    .addOption(priorTemperatureOption())
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => sampleCommand(opts, makeOutput(Boolean(opts.json))));

  program
    .command('reconstruct')
    .description('find each image\'s latent; write targets beside reconstructions and report PSNR')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .requiredOption('--input <spec>', 'a PNG/JPEG file, a folder of images, mnist or fashion-mnist (their test split)')
    .requiredOption('--out <file.png>', 'PNG file to write', parseOutputFile('out', '.png'))
    .option('--n <n>', 'number of images', parseInteger('n', 1, 100000), 16)
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => reconstructCommand(opts, makeOutput(Boolean(opts.json))));

  program
    .command('info')
    .description('config, parameter count, K, L, bits per latent and node usage of a model')
    .requiredOption('--model <dir>', 'run folder of a trained model')
    .option('--usage-images <n>', 'images used to measure node usage (0 skips it)', parseInteger('usage-images', 0, 100000), 1000)
    .option('--data <spec>', 'data for node usage (default: the training data)')
    .addOption(backendOption())
    .addOption(jsonOption())
    .action(async (opts) => infoCommand(opts, makeOutput(Boolean(opts.json))));

  program
    .command('toy2d')
    .description('fit K points to a 2-D density and compare the fit with K real samples (KL, JS, TV, Hellinger)')
    .requiredOption('--density <name>', 'gaussian, blur-circles, spiral, checkerboard, rings, or a grayscale PNG (brightness = mass)')
    .requiredOption('--out <dir>', 'folder for metrics.json, compare.png and training.gif')
    .option('--k <n>', 'K, the number of nodes', parseInteger('k', 2, 10_000_000), 10000)
    .option('--iters <n>', 'training iterations', parseInteger('iters', 1), 100000)
    .option('--batch <n>', 'samples per iteration', parseInteger('batch', 1, 1_000_000), 10)
    .addOption(new Option('--split-prune <rule>', 'tv, paper or off').argParser(parseChoice('split-prune', ['tv', 'paper', 'off'] as const)).default('tv'))
    .option('--runner-up', "hand a pruned node's count to its runner-up nodes", false)
    .option('--lr <x>', 'SGD step size toward each sample (default: 0.05)', parseNumber('lr', 0, 0.5, { minInclusive: false }))
    .option('--bins <n>', 'cells per side of the density grid', parseInteger('bins', 2, 2000), 100)
    .option('--seed <n>', 'random seed', parseInteger('seed', 0, 2 ** 31 - 1), 0)
    .option('--gif', 'also write an animation of the nodes during training', false)
    .option('--no-progress', 'no progress bar')
    .addOption(jsonOption())
    .action(async (opts) =>
      toy2dCommand(
        {
          density: opts.density,
          out: opts.out,
          k: opts.k,
          iters: opts.iters,
          batch: opts.batch,
          splitPrune: opts.splitPrune,
          runnerUp: opts.runnerUp,
          learningRate: opts.lr,
          bins: opts.bins,
          seed: opts.seed,
          gif: opts.gif,
          progress: opts.progress && process.stderr.isTTY === true,
        },
        makeOutput(Boolean(opts.json)),
      ),
    );

  registerClassifierCommands(program, backendOption, jsonOption);
  registerEncodeCommand(program, backendOption, jsonOption);
  registerDecodeCommand(program, backendOption, jsonOption);
  registerLatentTreeCommand(program, backendOption, jsonOption);
  registerTreeCommand(program, backendOption, jsonOption);
  registerGuideCommand(program, backendOption, jsonOption);
  registerExportCommand(program, backendOption, jsonOption);
  registerEvalCommand(program, backendOption, jsonOption);
  registerPriorCommand(program, backendOption, jsonOption);

  return program;
}

/** Runs the command line and returns the exit code. */
/** File-system errors that come from a path the user gave, as one-line reasons. */
const PATH_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or folder',
  EEXIST: 'a file of that name is in the way',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder, not a file',
  EROFS: 'the file system is read-only',
};

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; commander has already printed its message.
      return error.exitCode;
    }
    if (error instanceof DdnError) {
      // One line, even when a message from a library spans several.
      process.stderr.write(`ddn: error: ${error.message.trim().replace(/\s*\n\s*/g, '; ')}\n`);
      // DDN_DEBUG=1 shows where a user error was raised.
      if (process.env.DDN_DEBUG) process.stderr.write(`${error.stack ?? ''}\n`);
      return 1;
    }
    const err = error as NodeJS.ErrnoException;
    if (err?.code === 'ENOSPC') {
      process.stderr.write(`ddn: error: no space left on the device (${err.path ?? ''})\n`);
      return 1;
    }
    if (err?.code === 'EACCES' || err?.code === 'EPERM') {
      process.stderr.write(`ddn: error: permission denied: ${err.path ?? ''}\n`);
      return 1;
    }
    const pathProblem = PATH_ERRORS[err?.code ?? ''];
    if (pathProblem !== undefined && err.path !== undefined) {
      process.stderr.write(`ddn: error: cannot ${err.syscall ?? 'use'} '${err.path}': ${pathProblem}\n`);
      return 1;
    }
    process.stderr.write(`ddn: internal error: ${err?.stack ?? String(error)}\n`);
    return 2;
  }
}
