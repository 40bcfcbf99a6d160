#!/usr/bin/env node
// `npm start`: trains the default model on the embedded MNIST digits for a
// few minutes (1,600 steps, at most 8 minutes), into runs/mnist (or runs/mnist-2, -3, … if that run exists).
import { existsSync } from 'node:fs';

import { main } from '../dist/cli/main.js';

let out = 'runs/mnist';
for (let i = 2; existsSync(out); i++) out = `runs/mnist-${i}`;

const args = ['train', '--data', 'mnist', '--out', out, '--steps', '1600', '--minutes', '8', ...process.argv.slice(2)];
process.stderr.write(`ddn ${args.join(' ')}\n`);
main(args).then((code) => {
  process.exitCode = code;
});
