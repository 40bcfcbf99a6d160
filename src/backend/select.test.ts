import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';

import { DdnError } from '../errors.js';
import { initBackend, type BackendName } from './select.js';

describe('initBackend', () => {
  it('picks wasm by default without tfjs-node', async () => {
    const info = await initBackend();

    expect(info.name).toBe('wasm');
    expect(info.warning).toBeUndefined();
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('returns the current backend when called twice', async () => {
    const first = await initBackend('wasm');
    const second = await initBackend('wasm');

    expect(second).toEqual(first);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('registers Conv2DBackpropFilter for wasm', async () => {
    await initBackend('wasm');

    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it('switches to cpu on request', async () => {
    const info = await initBackend('cpu');

    expect(info).toEqual({ name: 'cpu', threads: 1 });
    expect(tf.getBackend()).toBe('cpu');
    await initBackend('wasm');
  });

  it('rejects node when tfjs-node is missing', async () => {
    const attempt = initBackend('node');

    await expect(attempt).rejects.toThrow(DdnError);
    await expect(attempt).rejects.toThrow(
      "backend 'node' is not available: @tensorflow/tfjs-node is not installed",
    );
  });

  it('rejects an unknown backend name', async () => {
    await expect(initBackend('gpu' as BackendName)).rejects.toThrow(
      /unknown backend 'gpu'/,
    );
  });
});
