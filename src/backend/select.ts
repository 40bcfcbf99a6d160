/**
 * Picks and initialises the TensorFlow.js backend for the whole process, and
 * registers tfjs-core's gradients, which training needs on every backend.
 *
 * Order with no request: `@tensorflow/tfjs-node` (native TensorFlow) when it
 * can be imported, else the wasm backend, else the pure JavaScript cpu
 * backend with a warning for the caller to show.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import { DdnError } from '../errors.js';
import { registerAllGradients } from './gradients.js';
import { loadNativeKernels } from './native.js';
import { registerNativeKernels } from './nativeKernels.js';
import { registerWasmConvKernels } from './wasmKernels.js';

/** Backend names as the project's options spell them. */
export type BackendName = 'wasm' | 'cpu' | 'node';

/** The backend that `initBackend` set. */
export interface BackendInfo {
  name: BackendName;
  /** Reason a slower backend than the default was chosen, for the caller to print. */
  warning?: string;
  /** Threads that one kernel may use. */
  threads: number;
  /**
   * The wasm backend's convolutions: run by the project's native kernels
   * (with their thread count), or why not. Absent on other backends.
   */
  native?: { threads: number } | { reason: string };
}

/** Engine names, as `tf.getBackend()` returns them. */
const ENGINE_NAMES: Record<BackendName, string> = {
  wasm: 'wasm',
  cpu: 'cpu',
  node: 'tensorflow',
};

const NODE_PACKAGE = '@tensorflow/tfjs-node';
const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** Outcome of the one attempt to import tfjs-node: null on success, else the reason. */
let nodeImport: Promise<string | null> | undefined;

/** Whether the wasm binary location has been set, which must happen once, before wasm starts. */
let wasmPathsSet = false;

/**
 * Sets the backend that every later tf op runs on.
 *
 * @param requested Backend to use. Without it, the fastest available one is
 *     chosen (node, then wasm, then cpu with `warning` set).
 * @returns The backend now set.
 * @throws DdnError when `requested` cannot be initialised.
 */
export async function initBackend(requested?: BackendName): Promise<BackendInfo> {
  await registerAllGradients();
  if (requested !== undefined) {
    return initRequested(requested);
  }

  if ((await importNode()) === null && (await trySetBackend('node')) === null) {
    return describe('node');
  }

  const wasmFailure = await trySetBackend('wasm');
  if (wasmFailure === null) {
    return describe('wasm');
  }

  const cpuFailure = await trySetBackend('cpu');
  if (cpuFailure !== null) {
    throw new DdnError(
      `no backend could be initialised: wasm failed (${wasmFailure}), ` +
        `cpu failed (${cpuFailure})`,
    );
  }
  return {
    ...(await describe('cpu')),
    warning:
      `the wasm backend failed to initialise (${wasmFailure}), so the much ` +
      `slower pure JavaScript cpu backend is used`,
  };
}

async function initRequested(requested: BackendName): Promise<BackendInfo> {
  if (!(requested in ENGINE_NAMES)) {
    throw new DdnError(
      `unknown backend '${String(requested)}': expected one of ` +
        Object.keys(ENGINE_NAMES).join(', '),
    );
  }
  if (requested === 'node') {
    const importFailure = await importNode();
    if (importFailure !== null) {
      throw new DdnError(`backend 'node' is not available: ${importFailure}`);
    }
  }

  const failure = await trySetBackend(requested);
  if (failure !== null) {
    throw new DdnError(`backend '${requested}' is not available: ${failure}`);
  }
  return describe(requested);
}

/**
 * Sets one backend, registering the project's kernels for it.
 *
 * @returns null on success, else a one-line reason.
 */
async function trySetBackend(name: BackendName): Promise<string | null> {
  const engineName = ENGINE_NAMES[name];
  try {
    if (name === 'wasm') {
      await locateWasmBinaries();
    }
    if (tf.getBackend() !== engineName) {
      const ready = await tf.setBackend(engineName);
      if (!ready) {
        return `tf.setBackend('${engineName}') returned false`;
      }
    }
    await tf.ready();
  } catch (error) {
    return errorMessage(error);
  }

  if (name === 'wasm') {
    registerWasmConvKernels();
    const native = await loadNativeKernels();
    if (native.kernels !== null) {
      registerNativeKernels(native.kernels);
    }
  }
  return null;
}

/** Imports tfjs-node once, which registers its 'tensorflow' backend. */
function importNode(): Promise<string | null> {
  nodeImport ??= (async () => {
    try {
      // A variable specifier keeps TypeScript and bundlers from resolving
      // the package, which is optional.
      const specifier: string = NODE_PACKAGE;
      await import(specifier);
      return null;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
        return `${NODE_PACKAGE} is not installed`;
      }
      return `${NODE_PACKAGE} failed to load: ${errorMessage(error)}`;
    }
  })();
  return nodeImport;
}

/**
 * Points the wasm backend at the `.wasm` files inside its installed npm
 * package when running under Node, so nothing is fetched over the network.
 * Browsers keep the bundler's default (files served beside the script).
 */
async function locateWasmBinaries(): Promise<void> {
  if (wasmPathsSet || tf.findBackend(ENGINE_NAMES.wasm) !== null) {
    return;
  }
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    return;
  }
  const { createRequire } = await import('node:module');
  const { dirname, sep } = await import('node:path');
  const require = createRequire(import.meta.url);
  const entry = require.resolve(WASM_PACKAGE); // .../tfjs-backend-wasm/dist/tf-backend-wasm.node.js
  setWasmPaths(dirname(entry) + sep);
  wasmPathsSet = true;
}

async function describe(name: BackendName): Promise<BackendInfo> {
  const info: BackendInfo = { name, threads: await countThreads(name) };
  if (name === 'wasm') {
    const native = await loadNativeKernels();
    info.native = native.kernels !== null ? { threads: native.kernels.threads() } : { reason: native.reason };
  }
  return info;
}

async function countThreads(name: BackendName): Promise<number> {
  switch (name) {
    case 'wasm':
      // tfjs 4.22 turns wasm threads off under Node, so this is 1 there.
      return getThreadsCount();
    case 'cpu':
      return 1;
    case 'node': {
      // NOTE: an estimate. Native TensorFlow sizes its intra-op thread pool
      // from the core count unless TF_NUM_INTRAOP_THREADS says otherwise.
      const os = await import('node:os');
      return os.availableParallelism();
    }
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (typeof error === 'object' && error !== null && 'message' in error) {
    return String((error as { message: unknown }).message);
  }
  return String(error);
}
