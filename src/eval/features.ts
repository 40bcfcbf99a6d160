/** Feature vectors of images, for distances between image sets. */

export interface FeatureExtractor {
  /** Name of the features, as reports give it (for example "project classifier, pooled conv features"). */
  readonly name: string;
  readonly dimension: number;
  /** Features of images [n, S, S, c] in [0, 1], [n·dimension]. */
  extract(images: Float32Array): Float32Array;
}
