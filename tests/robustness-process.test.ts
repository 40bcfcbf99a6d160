/**
 * Training in a child process that is stopped from outside: SIGINT and
 * SIGTERM save and exit 0, kill -9 at a random moment leaves loadable
 * files, and resuming either way gives the losses of a run that never
 * stopped. The command line is compiled once into node_modules/.cache, so
 * these tests never depend on a stale dist/.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { initBackend } from '../src/backend/select.js';
import { main } from '../src/cli/main.js';
import { loadDataset } from '../src/data/load.js';
import type { Dataset } from '../src/data/types.js';
import { readCheckpoint } from '../src/io/checkpoint.js';
import { loadModel } from '../src/io/modelDir.js';
import { TrainingRun } from '../src/train/run.js';

const REPO = resolve(import.meta.dirname, '..');
const BUILD = join(REPO, 'node_modules', '.cache', 'ddn-test-cli');
const STEPS = 30;
const TINY = ['--k', '4', '--levels', '3', '--channels', '8', '--batch', '8', '--backend', 'wasm'];
// Far below one step, so every step ends with a snapshot.
const EVERY_STEP = ['--snapshot-minutes', '0.000001'];

let root: string;
let referenceLosses: number[];
let dataset: Dataset;

/**
 * Compiles src/ without tests into BUILD, incrementally. Type errors are
 * left to `npm run typecheck`: tsc still emits JavaScript then (exit status
 * 2), and only a failure without output stops these tests.
 */
function buildCli(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD, '--incremental', '--tsBuildInfoFile',
    join(BUILD, 'tsbuildinfo'), '--declaration', 'false', '--sourceMap', 'false'];
  try {
    execFileSync(process.execPath, args, { cwd: REPO, stdio: 'pipe' });
  } catch (error) {
    const { status, stdout } = error as { status: number | null; stdout: Buffer };
    if (status !== 2) throw new Error(`tsc failed with status ${status}:\n${String(stdout)}`);
  }
}

interface Child {
  process: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stderr contains `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
}

/** Starts the compiled command line with `args`. */
function startCli(args: string[]): Child {
  const entry = pathToFileURL(join(BUILD, 'cli', 'main.js')).href;
  const script = `const { main } = await import(${JSON.stringify(entry)}); process.exitCode = await main(process.argv.slice(1));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
    for (const waiter of waiters.filter((w) => w.pattern.test(stderr))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor: (pattern) =>
      new Promise<void>((done, fail) => {
        if (pattern.test(stderr)) return done();
        waiters.push({ pattern, resolve: done });
        void exited.then(() => fail(new Error(`exited before ${pattern} appeared; stderr:\n${stderr}`)));
      }),
  };
}

/** Runs the command line in this process, with its output captured. */
async function ddn(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(args), stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

function logLosses(dir: string): { step: number; loss: number }[] {
  return readFileSync(join(dir, 'log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { step: number; loss: number });
}

/** Continues the run in `dir` to STEPS and checks its losses against the reference. */
async function expectResumeMatchesReference(dir: string): Promise<void> {
  const resumed = await ddn('train', '--data', 'mnist', '--out', dir, '--steps', String(STEPS), '--resume', ...TINY);
  expect(resumed.code, resumed.stderr).toBe(0);
  const log = logLosses(dir);
  expect(log.map((e) => e.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
  expect(log.map((e) => e.loss)).toEqual(referenceLosses);
}

beforeAll(async () => {
  buildCli();
  root = mkdtempSync(join(tmpdir(), 'ddn-process-'));
  await initBackend('wasm');
  dataset = await loadDataset('mnist', { split: 'train', imageSize: 32 });
  const reference = join(root, 'reference');
  const result = await ddn('train', '--data', 'mnist', '--out', reference, '--steps', String(STEPS), ...TINY);
  expect(result.code, result.stderr).toBe(0);
  referenceLosses = logLosses(reference).map((e) => e.loss);
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('stopping a training process', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('%s saves, prints one line and exits 0', async (signal) => {
    const dir = join(root, signal);
    const child = startCli(['train', '--data', 'mnist', '--out', dir, '--steps', String(STEPS), ...TINY, ...EVERY_STEP]);
    await child.waitFor(/checkpoint: step \d+ saved/);
    child.process.kill(signal);
    const { code } = await child.exited;

    expect(code, child.stderr()).toBe(0);
    const lines = child.stdout().trim().split('\n');
    expect(lines).toHaveLength(1);
    const match = new RegExp(`^stopped by ${signal} at step (\\d+): saved the checkpoint and model in (.+) \\(`).exec(lines[0]!);
    expect(match, lines[0]).not.toBeNull();
    expect(match![2]).toBe(dir);
    const step = Number(match![1]);
    const checkpoint = await readCheckpoint<{ step: number }>(dir);
    expect(checkpoint.state.step).toBe(step);
    expect(logLosses(dir).at(-1)?.step).toBe(step);
    await expectResumeMatchesReference(dir);
  });

  it('kill -9 at a random moment leaves a loadable checkpoint', async () => {
    const dir = join(root, 'killed');
    const child = startCli(['train', '--data', 'mnist', '--out', dir, '--steps', String(STEPS), ...TINY, ...EVERY_STEP]);
    await child.waitFor(/checkpoint: step \d+ saved/);
    // Every step writes a checkpoint, the model and pictures, so a delay
    // of up to 1 s lands in any phase of several snapshots, well before
    // the last step.
    const delay = Math.floor(Math.random() * 1000);
    await new Promise((done) => setTimeout(done, delay));
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    expect(signal).toBe('SIGKILL');

    // Every checkpoint file and the model folder load, whatever the moment.
    const checkpoints = readdirSync(dir).filter((name) => /^checkpoint.*\.safetensors$/.test(name));
    expect(checkpoints.length, `delay ${delay} ms`).toBeGreaterThan(0);
    for (const name of checkpoints) {
      const run = await TrainingRun.resume(dir, dataset, name);
      expect(run.step, name).toBeGreaterThan(0);
      run.dispose();
    }
    if (existsSync(join(dir, 'config.json'))) {
      const { model } = await loadModel(dir);
      model.dispose();
    }
    await expectResumeMatchesReference(dir);
  });
});
