#!/usr/bin/env node
// Builds native/*.c into native/build/ddn_kernels.node with the host's C
// compiler, its vector instructions and OpenMP. Without a compiler, or when
// the build fails, it prints why and exits 0, and the wasm kernels then run instead.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = ['module.c', 'conv.c', 'ops.c'].map((name) => join(root, 'native', name));
const target = join(root, 'native', 'build', 'ddn_kernels.node');
const compiler = process.env.CC ?? 'cc';

if (process.env.DDN_NATIVE === '0') {
  console.log('native kernels: skipped (DDN_NATIVE=0)');
  process.exit(0);
}

// Node's own headers come with every Node release, beside the binary.
const headers = join(dirname(process.execPath), '..', 'include', 'node');
if (!existsSync(join(headers, 'node_api.h'))) {
  console.log(`native kernels: not built, ${join(headers, 'node_api.h')} is missing; the wasm kernels will run`);
  process.exit(0);
}

// NOTE: -march=native ties the module to this machine's instruction set; a
// copy of the package on an older CPU needs npm run build there.
mkdirSync(dirname(target), { recursive: true });
const partial = `${target}.partial`;
try {
  execFileSync(
    compiler,
    [
      '-O3',
      '-march=native',
      '-fopenmp',
      '-shared',
      '-fPIC',
      '-Wall',
      `-I${headers}`,
      '-DNODE_GYP_MODULE_NAME=ddn_kernels',
      '-o',
      partial,
      ...sources,
    ],
    { stdio: ['ignore', 'inherit', 'pipe'] },
  );
  renameSync(partial, target);
  console.log(`native kernels: built ${join('native', 'build', 'ddn_kernels.node')} with ${compiler}`);
} catch (error) {
  const lines = String(error.stderr ?? error.message).trim().split('\n');
  const detail = error.code === 'ENOENT' ? `no C compiler '${compiler}'` : (lines.find((line) => /error/.test(line)) ?? lines[0]);
  console.log(`native kernels: not built (${detail}); the wasm kernels will run`);
}
