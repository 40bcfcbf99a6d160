import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';

import { initBackend } from './select.js';

// Without the real package, no 'wasm' backend is registered, which is how a
// failed wasm start looks to initBackend.
vi.mock('@tensorflow/tfjs-backend-wasm', () => ({
  getThreadsCount: () => 1,
  setWasmPaths: () => undefined,
}));

describe('initBackend without wasm', () => {
  it('falls back to cpu with a warning', async () => {
    const info = await initBackend();

    expect(info.name).toBe('cpu');
    expect(info.threads).toBe(1);
    expect(info.warning).toMatch(/^the wasm backend failed to initialise \(.+\)/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('rejects an explicit wasm request', async () => {
    await expect(initBackend('wasm')).rejects.toThrow(
      /^backend 'wasm' is not available: /,
    );
  });

  it('registers gradients on cpu too', async () => {
    await initBackend('cpu');

    expect(tf.getGradient('Sum')).toBeDefined();
    expect(tf.getGradient('Conv2D')).toBeDefined();
  });
});
