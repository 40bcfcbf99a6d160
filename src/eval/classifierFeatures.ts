/** The project classifier's penultimate activations as features for image-set distances. */
import type { Classifier } from '../classifier/cnn.js';
import type { FeatureExtractor } from './features.js';

export function classifierFeatures(classifier: Classifier): FeatureExtractor {
  return {
    name: "project classifier's pooled features",
    dimension: classifier.featureDimension,
    extract: (images) => classifier.features(images),
  };
}
