/**
 * Timings of the hot operations of a training step on the current tfjs
 * backend: a 3×3 convolution forward, both of its gradients (the project's
 * forward-convolution recipes, and wasm's own input-gradient kernel for
 * comparison), the DDL head, and the head's distances in both forms.
 */
import * as tf from '@tensorflow/tfjs-core';

import { conv2dFilterGradient, conv2dInputGradient } from '../src/backend/convBackprop.js';
import { DiscreteDistributionLayer } from '../src/model/ddl.js';
import { directSquaredDistances, gramSquaredDistances } from '../src/model/nodeDistances.js';
import { ParamStore } from '../src/model/params.js';
import { ArgminSampler } from '../src/sampling/basic.js';
import type { OpShape, TwinOps } from './torchTwin.js';
import { median, timeSteps } from './timing.js';

export type { OpShape };

/** Median milliseconds; null where the operation does not exist. */
export interface OpTimings extends TwinOps {
  /** tfjs-backend-wasm 4.22's own Conv2DBackpropInput kernel. */
  convInputGradientWasmOwn: number | null;
  /** The head's distances through the Gram expansion, [b, K]. */
  distancesGram: number;
  /** The same distances by computing every node output. */
  distancesDirect: number;
}

/** Median ms of the convolutions on the project's native kernels, and the head that uses them. */
export interface NativeOpTimings {
  threads: number;
  convForward: number;
  convInputGradient: number;
  convFilterGradient: number;
}

export interface TorchOpTimings {
  threads1: TwinOps;
  threads2: TwinOps;
}

/** Median ms of `steps` runs of `body`, reading every output tensor back to the host. */
function timeOp(warmup: number, steps: number, body: () => tf.Tensor | tf.Tensor[]): number {
  return median(
    timeSteps(warmup, steps, () =>
      tf.tidy(() => {
        const out = body();
        for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
      }),
    ),
  );
}

/** Makes the operands of the timed convolution: input and output gradient [b, s, s, c], filter [3, 3, c, c]. */
function convOperands({ batch, size, channels }: OpShape): Record<'x' | 'filter' | 'dy', tf.Tensor4D> {
  return {
    x: tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 1) as tf.Tensor4D,
    filter: tf.randomNormal([3, 3, channels, channels], 0, 0.1, 'float32', 2) as tf.Tensor4D,
    dy: tf.randomNormal([batch, size, size, channels], 0, 1, 'float32', 3) as tf.Tensor4D,
  };
}

/**
 * Times the native kernels (`src/backend/nativeKernels.ts`) at `shape`, as
 * the wasm backend's Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter.
 * The caller switches them on with the thread count wanted.
 */
export function measureNativeOps(shape: OpShape, threads: number, warmup: number, steps: number): NativeOpTimings {
  const { x, filter, dy } = convOperands(shape);
  const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  const run = (kernel: string, inputs: tf.NamedTensorMap, extra: object) =>
    tf.engine().runKernel(kernel, inputs, { ...attrs, ...extra } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const timings = {
    threads,
    convForward: timeOp(warmup, steps, () => run(tf.Conv2D, { x, filter }, { dilations: 1 })),
    convInputGradient: timeOp(warmup, steps, () => run(tf.Conv2DBackpropInput, { dy, filter }, { inputShape: x.shape })),
    convFilterGradient: timeOp(warmup, steps, () => run(tf.Conv2DBackpropFilter, { x, dy }, { filterShape: filter.shape })),
  };
  tf.dispose([x, filter, dy]);
  return timings;
}

export function measureOps(
  shape: OpShape,
  ownInputKernel: tf.KernelConfig | undefined,
  warmup: number,
  steps: number,
): OpTimings {
  const { batch, size, channels, k, imageChannels } = shape;
  const { x, filter, dy } = convOperands(shape);
  const target = tf.randomUniform([batch, size, size, imageChannels], -1, 1, 'float32', 4) as tf.Tensor4D;
  const geometry = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, 1, 1, 'same');

  const convForward = timeOp(warmup, steps, () => tf.conv2d(x, filter, 1, 'same'));
  const convInputGradient = timeOp(warmup, steps, () => conv2dInputGradient(dy, filter, geometry));
  const convFilterGradient = timeOp(warmup, steps, () => conv2dFilterGradient(x, dy, geometry));

  let convInputGradientWasmOwn: number | null = null;
  if (ownInputKernel !== undefined && tf.getBackend() === 'wasm') {
    const backend = tf.backend();
    convInputGradientWasmOwn = median(
      timeSteps(warmup, steps, () => {
        const info = ownInputKernel.kernelFunc({
          inputs: { dy, filter },
          attrs: { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', inputShape: x.shape },
          backend,
        }) as tf.TensorInfo;
        backend.readSync(info.dataId);
        backend.disposeData(info.dataId);
      }),
    );
  }

  // The head of one level: distances, argmin on the host, picked and leak outputs.
  const store = new ParamStore(5);
  const layer = new DiscreteDistributionLayer(store, 'bench', {
    k,
    featureChannels: channels,
    imageChannels,
    leakChoice: true,
    learningResidual: false,
  });
  const sampler = new ArgminSampler(target);
  const ddlHead = timeOp(warmup, steps, () => {
    const out = layer.forward(x, null, sampler, 0);
    return [out.picked, out.leak as tf.Tensor4D];
  });

  const nodeFeatures = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, channels / 2]) as tf.Tensor4D;
  const distancesGram = timeOp(warmup, steps, () => gramSquaredDistances(nodeFeatures, layer.nodeWeights, target));
  const distancesDirect = timeOp(warmup, steps, () =>
    directSquaredDistances(nodeFeatures, layer.nodeWeights, target),
  );

  sampler.dispose();
  store.dispose();
  tf.dispose([x, filter, dy, target, nodeFeatures]);
  return {
    convForward,
    convInputGradient,
    convFilterGradient,
    convInputGradientWasmOwn,
    ddlHead,
    distancesGram,
    distancesDirect,
  };
}
