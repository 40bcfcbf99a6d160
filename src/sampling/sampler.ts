/**
 * The guided sampler: the one thing that differs between training,
 * reconstruction, generation and decoding. A layer offers its K candidates
 * lazily, so samplers that ignore them (random, given indices) cost nothing.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** Where a layer sits: which level, its K, its image side, the batch size. */
export interface LevelContext {
  level: number;
  k: number;
  size: number;
  batch: number;
}

/** The K candidates of one layer, computed only when asked for. */
export interface CandidateSet {
  /** All candidates, [b, K, h, w, c]; the caller disposes it. */
  materialize(): tf.Tensor5D;
  /** Mean squared error of each candidate to `target` [b, h, w, c], on the host as [b·K]. */
  squaredDistances(target: tf.Tensor4D): Float32Array;
}

/** What a sampler picked at one level. */
export interface Selection {
  /** Picked node per image, [b]. */
  indices: Int32Array;
  /** Second-closest node per image, [b], when the sampler ranks by distance. */
  runnerUps?: Int32Array;
  /** Distance of the picked node per image, [b], when known. */
  distances?: Float32Array;
  /** True when chain dropout replaced the sampler's choice by a random one. */
  dropped?: boolean;
}

export interface Sampler {
  select(context: LevelContext, candidates: CandidateSet): Selection;
}

/** A source of uniform numbers in [0, 1). */
export interface RandomSource {
  next(): number;
}
