/**
 * Registers tfjs-core's gradient functions, without which `tf.grad` and
 * every optimizer fail with "gradient function not found for Sum".
 *
 * tfjs-core 4.22 registers no gradients by itself, and its only file that
 * does (`dist/register_all_gradients.js`) is an ES module with extensionless
 * relative imports, which Node cannot load. Importing `@tensorflow/tfjs`
 * (see `registerGradients.ts`) registers them on the same tfjs-core instance.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Registers all of tfjs-core's gradients unless they are registered
 * already. Safe to call any number of times.
 */
export async function registerAllGradients(): Promise<void> {
  if (tf.getGradient(tf.Sum) == null) {
    await import('./registerGradients.js');
  }
}
