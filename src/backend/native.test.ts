import { spawnSync } from 'node:child_process';

import { beforeAll, describe, expect, it } from 'vitest';

import { NATIVE_API_VERSION, type NativeKernels, loadNativeKernels } from './native.js';

const compilerPresent = spawnSync('cc', ['--version']).status === 0;

/** [batch, inH, inW, inC, outH, outW, outC, kh, kw, strideH, strideW, padTop, padLeft] */
const geometry = (...numbers: number[]) => Int32Array.from(numbers);

describe.skipIf(!compilerPresent)('native convolution module', () => {
  let native: NativeKernels;

  beforeAll(async () => {
    const load = await loadNativeKernels();
    if (load.kernels === null) {
      throw new Error(`a C compiler is present but the native kernels did not load: ${load.reason}`);
    }
    native = load.kernels;
  });

  it('sums a 3×3 all-ones filter over a 3×3 image of ones, zero outside', () => {
    const out = new Float32Array(9);
    native.conv2dForward(new Float32Array(9).fill(1), new Float32Array(9).fill(1), out, geometry(1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1));
    // Corners see 4 pixels, edges 6, the centre 9.
    expect(Array.from(out)).toEqual([4, 6, 4, 6, 9, 6, 4, 6, 4]);
  });

  it('mixes channels as [kh, kw, inC, outC] says', () => {
    // One pixel with channels (1, 2); a 1×1 filter to 3 channels.
    const filter = Float32Array.of(1, 10, 100, 2, 20, 200); // [1, 1, 2, 3]
    const out = new Float32Array(3);
    native.conv2dForward(Float32Array.of(1, 2), filter, out, geometry(1, 1, 1, 2, 1, 1, 3, 1, 1, 1, 1, 0, 0));
    expect(Array.from(out)).toEqual([5, 50, 500]);
  });

  it('gives the filter gradient of a stride-2 convolution', () => {
    // x is 1×4 (one row), filter 1×2, stride 2, no padding: outputs read
    // pixels (0, 1) and (2, 3); dw[b] = Σ_ox x[2·ox + b] dy[ox].
    const dw = new Float32Array(2);
    native.conv2dFilterGradient(Float32Array.of(1, 2, 3, 4), Float32Array.of(10, 100), dw, geometry(1, 1, 4, 1, 1, 2, 1, 1, 2, 1, 2, 0, 0));
    expect(Array.from(dw)).toEqual([1 * 10 + 3 * 100, 2 * 10 + 4 * 100]);
  });

  it('gives the input gradient of a padded convolution', () => {
    // 1×3 row, filter (1, 2, 3), 'same': dx[i] = Σ_o dy[o] w[i - o + 1].
    const dx = new Float32Array(3);
    native.conv2dInputGradient(Float32Array.of(1, 0, 0), Float32Array.of(1, 2, 3), dx, geometry(1, 1, 3, 1, 1, 3, 1, 1, 3, 1, 1, 0, 1));
    expect(Array.from(dx)).toEqual([2, 3, 0]);
  });

  it('gives the input gradient of a strided convolution', () => {
    // 1×5 row, filter (1, 2, 3), stride 2, padding 1: output o reads pixels
    // 2o − 1, 2o, 2o + 1, so dx[i] = Σ_o dy[o] w[i − 2o + 1].
    const dx = new Float32Array(5);
    native.conv2dInputGradient(Float32Array.of(10, 100, 1000), Float32Array.of(1, 2, 3), dx, geometry(1, 1, 5, 1, 1, 3, 1, 1, 3, 1, 2, 0, 1));
    expect(Array.from(dx)).toEqual([20, 30 + 100, 200, 300 + 1000, 2000]);
  });

  it('rejects arrays whose length does not match the geometry', () => {
    const g = geometry(1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1);
    expect(() => native.conv2dForward(new Float32Array(8), new Float32Array(9), new Float32Array(9), g)).toThrow(
      /x holds 8 floats, the shape needs 9/,
    );
    expect(() => native.conv2dFilterGradient(new Float32Array(9), new Float32Array(9), new Float32Array(3), g)).toThrow(
      /dw holds 3 floats, the shape needs 9/,
    );
  });

  it('rejects other array types and bad geometry', () => {
    const g = geometry(1, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1);
    const x = new Float64Array(9) as unknown as Float32Array;
    expect(() => native.conv2dForward(x, new Float32Array(9), new Float32Array(9), g)).toThrow(/x must be a Float32Array/);
    expect(() => native.conv2dForward(new Float32Array(9), new Float32Array(9), new Float32Array(9), geometry(1, 3))).toThrow(
      /13 numbers/,
    );
    expect(() =>
      native.conv2dForward(new Float32Array(0), new Float32Array(0), new Float32Array(0), geometry(0, 3, 3, 1, 3, 3, 1, 3, 3, 1, 1, 1, 1)),
    ).toThrow(/below 1/);
    expect(() => native.setThreads(0)).toThrow(/at least 1/);
  });

  it('was built from the same argument version as this code', () => {
    expect(native.apiVersion()).toBe(NATIVE_API_VERSION);
  });

  it('rejects binary arrays shorter than their shape', () => {
    const steps = Int32Array.of(0, 0, 1);
    const dims = Int32Array.of(1, 1, 4);
    const four = () => new Float32Array(4);
    expect(() => native.binary(0, new Float32Array(2), steps, four(), steps, four(), dims)).toThrow(/x or y is shorter than its steps reach/);
    expect(() => native.binary(0, new Float32Array(2), steps, four(), steps, new Float32Array(3), dims)).toThrow(
      /out holds 3 floats, the shape needs 4/,
    );
  });

  it('reports and sets its thread count', () => {
    const before = native.threads();
    expect(before).toBeGreaterThanOrEqual(1);
    native.setThreads(1);
    expect(native.threads()).toBe(1);
    native.setThreads(before);
    expect(native.threads()).toBe(before);
  });
});
