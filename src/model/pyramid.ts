/**
 * The single-shot generator: a pyramid of scales from 1×1 up to the image
 * side. Each scale holds a few blocks and each block is followed by a DDL.
 * Entering a scale upsamples the features 2× (nearest) and adapts their
 * width with a 1×1 convolution. A block's input gets the previous picked
 * image added into its first c channels and the leak output into its last c.
 */
import * as tf from '@tensorflow/tfjs-core';

import type { Sampler } from '../sampling/sampler.js';
import { ConditionEncoder, type ConditionInput } from './condition.js';
import type { ModelConfig } from './config.js';
import { DiscreteDistributionLayer } from './ddl.js';
import { Conv, ResBlock, addIntoChannels, positionEmbedding, resizeNearest } from './layers.js';
import type { DdnNetwork, ForwardResult, LevelResult } from './network.js';
import type { ParamStore } from './params.js';

interface Stage {
  size: number;
  entry: Conv | null;
  condition: ConditionEncoder;
  blocks: ResBlock[];
  layers: DiscreteDistributionLayer[];
}

export class PyramidNetwork implements DdnNetwork {
  readonly levelCount: number;
  readonly layers: DiscreteDistributionLayer[] = [];
  readonly layerOfLevel: number[] = [];
  private readonly stages: Stage[] = [];
  private readonly imageChannels: number;
  private readonly input: tf.Tensor4D;

  constructor(store: ParamStore, config: ModelConfig) {
    this.imageChannels = config.imageChannels;
    const first = config.scales[0];
    this.input = positionEmbedding(first.size, first.channels); // [1, s, s, C0]

    let previousChannels = first.channels;
    config.scales.forEach((scale, s) => {
      const name = `scale${scale.size}`;
      const entry =
        s === 0 ? null : new Conv(store, `${name}.entry`, previousChannels, scale.channels, 1);
      const condition = new ConditionEncoder(
        store,
        `${name}.condition`,
        config.condition,
        scale.channels,
        config.classCount,
        config.imageChannels,
      );
      const stage: Stage = { size: scale.size, entry, condition, blocks: [], layers: [] };
      for (let j = 0; j < scale.blocks; j++) {
        stage.blocks.push(new ResBlock(store, `${name}.block${j}`, scale.channels));
        const layer = new DiscreteDistributionLayer(store, `${name}.ddl${j}`, {
          k: scale.k,
          featureChannels: scale.channels,
          imageChannels: config.imageChannels,
          leakChoice: config.leakChoice,
          learningResidual: config.learningResidual,
        });
        stage.layers.push(layer);
        this.layerOfLevel.push(this.layers.length);
        this.layers.push(layer);
      }
      this.stages.push(stage);
      previousChannels = scale.channels;
    });
    this.levelCount = this.layers.length;
  }

  forward(
    batch: number,
    sampler: Sampler,
    maxLevels = this.levelCount,
    condition?: ConditionInput,
  ): ForwardResult {
    const c = this.imageChannels;
    let features = tf.tile(this.input, [batch, 1, 1, 1]) as tf.Tensor4D; // [b, 1, 1, C0]
    let previous: tf.Tensor4D | null = null;
    const levels: LevelResult[] = [];

    for (const stage of this.stages) {
      if (levels.length >= maxLevels) break;
      if (stage.entry !== null) {
        features = stage.entry.apply(resizeNearest(features, stage.size)); // [b, s, s, C]
      }
      features = stage.condition.apply(features, condition);
      for (let j = 0; j < stage.blocks.length && levels.length < maxLevels; j++) {
        // Refine the features, then let the layer pick an image.
        features = stage.blocks[j].apply(features);
        const out = stage.layers[j].forward(features, previous, sampler, levels.length);
        levels.push({ picked: out.picked, selection: out.selection });

        // The next block sees the picked image and the leak output.
        features = addIntoChannels(features, out.picked, 0);
        if (out.leak !== null) {
          features = addIntoChannels(features, out.leak, features.shape[3] - c);
        }
        previous = out.picked;
      }
    }
    return { image: levels[levels.length - 1].picked, levels };
  }

  dispose(): void {
    this.input.dispose();
  }
}
