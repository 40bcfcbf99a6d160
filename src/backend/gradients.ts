/**
 * Registers tfjs-core's gradient functions, without which `tf.grad` and
 * every optimizer fail with "gradient function not found for Sum".
 *
 * tfjs-core 4.22 registers no gradients by itself; `@tensorflow/tfjs` does
 * it by importing `@tensorflow/tfjs-core/dist/register_all_gradients`. That
 * file is an ES module whose relative imports have no `.js` extension
 * (`'./gradients/Abs_grad'`), which bundlers resolve and Node does not. Under
 * Node, a module resolve hook therefore adds the extension, for failed
 * relative imports inside `@tensorflow/tfjs-core/dist/` only.
 *
 * NOTE: under Node this loads tfjs-core's ES module files beside its
 * CommonJS bundle, which took about 1 s once on a 2-core machine. Both
 * copies share one engine, kernel registry and gradient registry, because
 * tfjs-core 4.22 keeps these on `globalThis`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Node resolve hook: retry `./x` as `./x.js`, then as `./x/index.js`. */
const RESOLVE_HOOK = `
export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    const parent = context.parentURL ?? '';
    if (!specifier.startsWith('.') ||
        !parent.includes('/@tensorflow/tfjs-core/dist/')) {
      throw error;
    }
    try {
      return await nextResolve(specifier + '.js', context);
    } catch {
      return nextResolve(specifier + '/index.js', context);
    }
  }
}
`;

let registration: Promise<void> | undefined;

/**
 * Registers all of tfjs-core's gradients once per process; later calls
 * return the same promise. Does nothing when they are already registered,
 * for example by `@tensorflow/tfjs`.
 */
export function registerAllGradients(): Promise<void> {
  registration ??= (async () => {
    if (tf.getGradient(tf.Sum) != null) {
      return;
    }
    if (typeof process !== 'undefined' && process.versions?.node !== undefined) {
      const { register } = await import('node:module');
      register('data:text/javascript,' + encodeURIComponent(RESOLVE_HOOK));
    }
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  })();
  return registration;
}
