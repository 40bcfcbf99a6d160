/**
 * The recurrence-iteration paradigm: one small UNet and one DDL whose
 * weights run L times. Each pass takes the previous picked image and the
 * previous output features; its output features feed the shared DDL.
 *
 * UNet layout with base width C and depth D: an input convolution, then per
 * depth d a residual block at width C·2^min(d,1) and a 2× average-pool
 * downsampling, a middle block, and the mirror path up with nearest
 * upsampling and skip connections added (not concatenated).
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Sampler } from '../sampling/sampler.js';
import { ConditionEncoder, type ConditionInput } from './condition.js';
import type { ModelConfig } from './config.js';
import { DiscreteDistributionLayer } from './ddl.js';
import {
  ChannelNorm,
  Conv,
  ResBlock,
  addIntoChannels,
  positionEmbedding,
  resizeArea,
  resizeNearest,
  silu,
} from './layers.js';
import type { DdnNetwork, ForwardResult, LevelResult } from './network.js';
import type { ParamStore } from './params.js';

export class RecurrenceNetwork implements DdnNetwork {
  readonly levelCount: number;
  readonly layers: DiscreteDistributionLayer[];
  readonly layerOfLevel: number[];
  private readonly imageSize: number;
  private readonly imageChannels: number;
  private readonly input: tf.Tensor4D;
  private readonly inConv: Conv;
  private readonly condition: ConditionEncoder;
  private readonly down: { block: ResBlock; widen: Conv | null }[] = [];
  private readonly middle: ResBlock;
  private readonly up: { narrow: Conv | null; block: ResBlock }[] = [];
  private readonly outNorm: ChannelNorm;
  private readonly outConv: Conv;

  constructor(store: ParamStore, config: ModelConfig) {
    const base = config.unetChannels;
    const c = config.imageChannels;
    this.imageSize = config.imageSize;
    this.imageChannels = c;
    this.levelCount = config.recurrenceLevels;
    this.input = positionEmbedding(config.imageSize, base); // [1, S, S, C]

    // Widths per depth: C at full size, 2C below.
    const widths = Array.from({ length: config.unetDepth + 1 }, (_, d) => base * 2 ** Math.min(d, 1));
    this.inConv = new Conv(store, 'unet.in', base + c, base, 3);
    this.condition = new ConditionEncoder(
      store,
      'unet.condition',
      config.condition,
      base,
      config.classCount,
      config.imageChannels,
    );
    for (let d = 0; d < config.unetDepth; d++) {
      const widen = widths[d + 1] !== widths[d] ? new Conv(store, `unet.down${d}.widen`, widths[d], widths[d + 1], 1) : null;
      this.down.push({ block: new ResBlock(store, `unet.down${d}`, widths[d]), widen });
    }
    this.middle = new ResBlock(store, 'unet.middle', widths[config.unetDepth]);
    for (let d = config.unetDepth - 1; d >= 0; d--) {
      const narrow = widths[d + 1] !== widths[d] ? new Conv(store, `unet.up${d}.narrow`, widths[d + 1], widths[d], 1) : null;
      this.up.push({ narrow, block: new ResBlock(store, `unet.up${d}`, widths[d]) });
    }
    this.outNorm = new ChannelNorm(store, 'unet.outNorm', base);
    this.outConv = new Conv(store, 'unet.out', base, base, 3);

    const layer = new DiscreteDistributionLayer(store, 'ddl', {
      k: config.recurrenceK,
      featureChannels: base,
      imageChannels: c,
      leakChoice: config.leakChoice,
      learningResidual: config.learningResidual,
    });
    this.layers = [layer];
    this.layerOfLevel = new Array<number>(this.levelCount).fill(0);
  }

  forward(
    batch: number,
    sampler: Sampler,
    maxLevels = this.levelCount,
    condition?: ConditionInput,
  ): ForwardResult {
    const { imageSize: size, imageChannels: c } = this;
    let features = tf.tile(this.input, [batch, 1, 1, 1]) as tf.Tensor4D; // [b, S, S, C]
    let previous: tf.Tensor4D | null = null;
    const levels: LevelResult[] = [];

    for (let level = 0; level < Math.min(maxLevels, this.levelCount); level++) {
      // Each level in its own scope: only the features and the pick outlive
      // it, so a forward pass keeps one UNet pass of activations at a time
      // outside training (a gradient tape keeps what it needs by itself).
      let selection: LevelResult['selection'] | undefined;
      const next: { features: tf.Tensor4D; picked: tf.Tensor4D } = tf.tidy(() => {
        // One pass of the shared UNet on the previous image and features.
        const image = previous ?? tf.zeros([batch, size, size, c]);
        const x = this.inConv.apply(tf.concat([features, image], 3) as tf.Tensor4D); // [b, S, S, C]
        let h = this.unet(this.condition.apply(x, condition));

        // The shared layer picks; its leak output joins the features.
        const out = this.layers[0].forward(h, previous, sampler, level);
        selection = out.selection;
        if (out.leak !== null) {
          h = addIntoChannels(h, out.leak, h.shape[3] - c);
        }
        return { features: h, picked: out.picked };
      });
      features = next.features;
      levels.push({ picked: next.picked, selection: selection! });
      previous = next.picked;
    }
    return { image: levels[levels.length - 1].picked, levels };
  }

  /** [b, S, S, C] → [b, S, S, C] */
  private unet(x: tf.Tensor4D): tf.Tensor4D {
    const skips: tf.Tensor4D[] = [];
    let h = x;
    for (const { block, widen } of this.down) {
      h = block.apply(h);
      skips.push(h);
      h = resizeArea(h, h.shape[1] / 2); // [b, s/2, s/2, w]
      if (widen !== null) h = widen.apply(h);
    }
    h = this.middle.apply(h);
    for (const { narrow, block } of this.up) {
      const skip = skips.pop() as tf.Tensor4D;
      if (narrow !== null) h = narrow.apply(h);
      h = tf.add(resizeNearest(h, skip.shape[1]), skip); // [b, 2s, 2s, w]
      h = block.apply(h);
    }
    return this.outConv.apply(silu(this.outNorm.apply(h)));
  }

  dispose(): void {
    this.input.dispose();
  }
}
