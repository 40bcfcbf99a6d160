/**
 * Chooses the TensorFlow.js backend in the browser: webgpu, then webgl,
 * then wasm, then the pure JavaScript cpu backend. Each backend is imported
 * only when it is tried, and the GPU ones only after the browser shows it
 * offers a hardware device for them. A backend named in `?backend=` is
 * tried first even when it would be skipped otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';

export const BROWSER_BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

export interface BackendChoice {
  name: BrowserBackend;
  /** Backends tried before this one, each with why it was not used. */
  skipped: { name: BrowserBackend; reason: string }[];
}

/** Checks whether the browser offers a WebGPU adapter. */
async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (gpu === undefined) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/**
 * Returns why WebGL should not be used, or null when it is hardware accelerated.
 * A software renderer (SwiftShader, llvmpipe) counts as unavailable: in
 * headless Chromium on a 2-core machine it generated an MNIST image about
 * 30 times slower than the wasm backend (6.5 s against 0.2 s).
 */
function webGlProblem(): { reason: string; software: boolean } | null {
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
  if (context === null) return { reason: 'no WebGL context', software: false };
  const info = context.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(context.getParameter(info === null ? context.RENDERER : info.UNMASKED_RENDERER_WEBGL));
  context.getExtension('WEBGL_lose_context')?.loseContext();
  if (!/swiftshader|llvmpipe|software/i.test(renderer)) return null;
  return { reason: `software renderer "${renderer}", slower than wasm`, software: true };
}

/** Imports a backend's package, which registers it with tfjs-core. */
async function register(name: BrowserBackend): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // The .wasm binaries are bundled as assets, so nothing comes from a CDN.
      const [plain, simd, threaded] = await Promise.all([
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url'),
        import('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url'),
      ]);
      wasm.setWasmPaths({
        'tfjs-backend-wasm.wasm': plain.default,
        'tfjs-backend-wasm-simd.wasm': simd.default,
        'tfjs-backend-wasm-threaded-simd.wasm': threaded.default,
      });
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}

/**
 * Returns why `name` is skipped, or null when the browser seems to offer it. A
 * requested backend is skipped only when it cannot run at all.
 */
async function unavailableReason(name: BrowserBackend, requested: boolean): Promise<string | null> {
  if (name === 'webgpu' && !(await hasWebGpu())) return 'no WebGPU adapter';
  if (name === 'webgl') {
    const problem = webGlProblem();
    return problem === null || (requested && problem.software) ? null : problem.reason;
  }
  if (name === 'wasm' && typeof WebAssembly === 'undefined') return 'no WebAssembly';
  return null;
}

/**
 * Sets the first backend that initialises, starting at `requested` when
 * given (the ones after it remain fallbacks).
 *
 * @throws Error when no backend initialises, listing every reason.
 */
export async function chooseBackend(requested?: BrowserBackend): Promise<BackendChoice> {
  const start = requested === undefined ? 0 : BROWSER_BACKENDS.indexOf(requested);
  const skipped: BackendChoice['skipped'] = [];
  for (const name of BROWSER_BACKENDS.slice(Math.max(0, start))) {
    const reason = await unavailableReason(name, name === requested);
    if (reason !== null) {
      skipped.push({ name, reason });
      continue;
    }
    try {
      await register(name);
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, skipped };
      }
      skipped.push({ name, reason: 'initialisation failed' });
    } catch (error) {
      skipped.push({ name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  const reasons = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new Error(`no TensorFlow.js backend could start in this browser (${reasons})`);
}

/** Reads `?backend=` from the page address, when it names a known backend. */
export function requestedBackend(search: string): BrowserBackend | undefined {
  const value = new URLSearchParams(search).get('backend');
  return (BROWSER_BACKENDS as readonly string[]).includes(value ?? '') ? (value as BrowserBackend) : undefined;
}
