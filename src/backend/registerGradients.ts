/**
 * Registers the gradient functions of every tfjs op. The Node build of
 * @tensorflow/tfjs-core leaves them out; the union package's Node build
 * registers them on the same core instance when it is imported.
 */
import '@tensorflow/tfjs';
