/**
 * The project's native convolution kernels (`native/conv.c`), built at
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
export interface NativeConv {
  /** out [b, outH, outW, outC] = x [b, inH, inW, inC] ⊛ filter [kh, kw, inC, outC]. */
  conv2dForward(x: Float32Array, filter: Float32Array, out: Float32Array, geometry: NativeGeometry): void;
  /** dx [b, inH, inW, inC] from dy [b, outH, outW, outC]; stride 1 only. */
  conv2dInputGradient(dy: Float32Array, filter: Float32Array, dx: Float32Array, geometry: NativeGeometry): void;
  /** dw [kh, kw, inC, outC] from x and dy. */
  conv2dFilterGradient(x: Float32Array, dy: Float32Array, dw: Float32Array, geometry: NativeGeometry): void;
  /** Threads each call may use. */
  threads(): number;
  /** Sets the threads that later calls from this thread may use (at least 1). */
  setThreads(count: number): void;
}

/** Where the build script puts the module, from the package root. */
export const NATIVE_MODULE_PATH = 'native/build/ddn_kernels.node';

/** Outcome of the one attempt to load the module. */
export type NativeLoad = { kernels: NativeConv } | { kernels: null; reason: string };

let loaded: Promise<NativeLoad> | undefined;

/**
 * Loads the native kernels once. Resolves with the reason they are absent
 * outside Node, when DDN_NATIVE=0, or when the module was not built.
 */
export function loadNativeConv(): Promise<NativeLoad> {
  loaded ??= (async (): Promise<NativeLoad> => {
    if (typeof process === 'undefined' || process.versions?.node === undefined) {
      return { kernels: null, reason: 'not running under Node' };
    }
    if (process.env.DDN_NATIVE === '0') {
      return { kernels: null, reason: 'DDN_NATIVE=0' };
    }
    const { createRequire } = await import('node:module');
    const { existsSync } = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    // This file sits two folders below the package root, as src/backend or dist/backend.
    const path = fileURLToPath(new URL(`../../${NATIVE_MODULE_PATH}`, import.meta.url));
    if (!existsSync(path)) {
      return { kernels: null, reason: `${NATIVE_MODULE_PATH} was not built (no C compiler at install time?)` };
    }
    try {
      // Idle OpenMP threads sleep instead of spinning: on a busy machine a
      // spinning thread takes the core that the next kernel's threads need.
      // The runtime reads this once, when the module loads.
      process.env.OMP_WAIT_POLICY ??= 'passive';
      const require = createRequire(import.meta.url);
      return { kernels: require(path) as NativeConv };
    } catch (error) {
      return { kernels: null, reason: `${NATIVE_MODULE_PATH} failed to load: ${(error as Error).message}` };
    }
  })();
  return loaded;
}

/** The 13 numbers `NativeConv` reads, from tfjs's description of a convolution. */
export function nativeGeometry(info: {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padInfo: { top: number; left: number };
}): NativeGeometry {
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
}
