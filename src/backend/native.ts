/**
 * The project's native kernels (`native/*.c`): convolutions and their
 * gradients, broadcasting arithmetic, sums and matrix products, built at
 * install time by `scripts/build-native.js` when a C compiler is present.
 * They read and write the wasm backend's heap in place and use every core
 * through OpenMP; without them the wasm backend's own kernels run.
 *
 * Setting the environment variable DDN_NATIVE=0 turns them off;
 * OMP_NUM_THREADS sets their thread count (default: one per core).
 */

/** Geometry of one convolution, in the order the native functions read it. */
export type NativeGeometry = Int32Array; // [batch, inH, inW, inC, outH, outW, outC, kh, kw, strideH, strideW, padTop, padLeft]

/** The functions of `ddn_kernels.node`. Each throws on lengths that do not match the geometry. */
export interface NativeKernels {
  /** out [b, outH, outW, outC] = x [b, inH, inW, inC] ⊛ filter [kh, kw, inC, outC]. */
  conv2dForward(x: Float32Array, filter: Float32Array, out: Float32Array, geometry: NativeGeometry): void;
  /** dx [b, inH, inW, inC] from dy [b, outH, outW, outC]. */
  conv2dInputGradient(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: NativeGeometry): void;
  /** dw [kh, kw, inC, outC] from x and dy. */
  conv2dFilterGradient(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: NativeGeometry): void;
  /**
   * out[a, b, c] = x[a·xSteps[0] + b·xSteps[1] + c·xSteps[2]] op y[…ySteps…]
   * for dims [A, B, C]; a step of 0 broadcasts. op: 0 add, 1 subtract,
   * 2 multiply, 3 divide, 4 squared difference.
   */
  binary(
    op: number,
    x: Float32Array,
    xSteps: Int32Array,
    y: Float32Array,
    ySteps: Int32Array,
    out: Float32Array,
    dims: Int32Array,
  ): void;
  /** out [outer, inner] = scale · Σ over the middle axis of x [outer, middle, inner]; dims [outer, middle, inner]. */
  sum(x: Float32Array, out: Float32Array, dims: Int32Array, scale: number): void;
  /** out[i] = 1 / (1 + e^(−x[i])), within about 3e-7 relative; NaN stays NaN. */
  sigmoid(x: Float32Array, out: Float32Array): void;
  /**
   * One Adam step: m' = β1·m + (1 − β1)·g, v' = β2·v + (1 − β2)·g²,
   * p' = p − step·m' / (√v' + ε), into the three outputs; constants
   * [β1, 1 − β1, β2, 1 − β2, ε, step].
   */
  adam(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    pOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    constants: Float32Array,
  ): void;
  /** out [outer, Σ widths] = the inputs [outer, widths[i]] side by side, row by row. */
  concat(out: Float32Array, inputs: Float32Array[], widths: Int32Array, outer: number): void;
  /**
   * out [batch, m, n] = op(a) · op(b); shape [batch, batchA, batchB, m, k, n,
   * transposeA, transposeB], batchA and batchB each 1 or batch.
   */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, shape: Int32Array): void;
  /** Version of the functions' arguments; must equal NATIVE_API_VERSION. */
  apiVersion(): number;
  /** Threads each call may use. */
  threads(): number;
  /** Sets the threads that later calls from this thread may use (at least 1). */
  setThreads(count: number): void;
}

/** The `apiVersion()` this code calls the module with (API_VERSION in native/module.c). */
export const NATIVE_API_VERSION = 5;

/** Path of the module that the build script writes, from the package root. */
export const NATIVE_MODULE_PATH = 'native/build/ddn_kernels.node';

/** Outcome of the one attempt to load the module. */
export type NativeLoad = { kernels: NativeKernels } | { kernels: null; reason: string };

let loaded: Promise<NativeLoad> | undefined;

/**
 * Loads the native kernels once. Resolves with the reason they are absent
 * outside Node, when DDN_NATIVE=0, or when the module was not built.
 */
export function loadNativeKernels(): Promise<NativeLoad> {
  loaded ??= (async (): Promise<NativeLoad> => {
    if (typeof process === 'undefined' || process.versions?.node === undefined) {
      return { kernels: null, reason: 'not running under Node' };
    }
    if (process.env.DDN_NATIVE === '0') {
      return { kernels: null, reason: 'DDN_NATIVE=0' };
    }
    const { createRequire } = await import('node:module');
    const { existsSync } = await import('node:fs');
    const { dirname, join } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    // The package root is the nearest folder above this file (src/backend,
    // dist/backend, or a build of them elsewhere in the package) holding the module.
    let path: string | null = null;
    for (let dir = dirname(fileURLToPath(import.meta.url)); path === null; dir = dirname(dir)) {
      if (existsSync(join(dir, NATIVE_MODULE_PATH))) path = join(dir, NATIVE_MODULE_PATH);
      else if (dirname(dir) === dir) break;
    }
    if (path === null) {
      return { kernels: null, reason: `${NATIVE_MODULE_PATH} was not built (no C compiler at install time?)` };
    }
    try {
      // Idle OpenMP threads sleep instead of spinning: on a busy machine a
      // spinning thread takes the core that the next kernel's threads need.
      // The runtime reads this once, when the module loads.
      process.env.OMP_WAIT_POLICY ??= 'passive';
      const require = createRequire(import.meta.url);
      const kernels = require(path) as NativeKernels;
      const version = typeof kernels.apiVersion === 'function' ? kernels.apiVersion() : 0;
      if (version !== NATIVE_API_VERSION) {
        return {
          kernels: null,
          reason: `${NATIVE_MODULE_PATH} is version ${version}, this code needs ${NATIVE_API_VERSION}: rebuild it with npm run build`,
        };
      }
      return { kernels };
    } catch (error) {
      return { kernels: null, reason: `${NATIVE_MODULE_PATH} failed to load: ${(error as Error).message}` };
    }
  })();
  return loaded;
}
